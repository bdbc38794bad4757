"""The command line's failures: one ERROR line that says what to fix, and a non-zero exit code.

The SDK's command reads files, validates the config and runs `--discover`/`--test` in click
callbacks, where an exception escapes as a Python traceback; a sync's config errors become
several ERROR lines. :class:`MatomoCommand` catches every failure of every path (sync, `--test`,
`--discover`, `--about`) and logs exactly one line, secrets masked: the cause and the setting or
file to fix. An unexpected error (a bug) still gets its one line; its traceback is logged at
DEBUG, for a bug report.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NoReturn

import click
from singer_sdk.exceptions import ConfigValidationError, DiscoveryError, MappingError
from singer_sdk.plugin_base import SingerCommand
from typing_extensions import override

from tap_matomo.errors import MatomoError
from tap_matomo.inputs import InputError
from tap_matomo.masking import mask_secrets

#: Exit code of a bad command line (click's), and of every other failure.
USAGE_EXIT_CODE = 2
FAILURE_EXIT_CODE = 1


@dataclass
class ConfigInput:
    """The config files of the command line, merged (what the SDK's callbacks expect)."""

    config: dict[str, Any] = field(default_factory=dict)
    parse_env: bool = False


class MatomoCommand(SingerCommand):
    """The SDK's command, with one clear line for every failure."""

    #: The settings read so far (files, environment): their secrets are masked in the line.
    known_config: dict[str, Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.known_config = {}

    @override
    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        """Parse the options; `--config`, `--discover` and `--test` run here, in callbacks."""
        with self.one_line_failures():
            if sys.stdout is None:  # started without a standard output (`>&-`)
                msg = (
                    "The standard output is closed: the tap writes its messages (records, "
                    "state, catalog) there. Run it with its output to a target or a file."
                )
                raise InputError(msg)
            return super().make_context(info_name, args, parent, **extra)

    @override
    def invoke(self, ctx: click.Context) -> Any:
        """Run the sync (or `--about`) as the SDK does, with one line for a failure.

        SingerCommand.invoke would log each config error on its own ERROR line, then one more.
        """
        logging.captureWarnings(capture=True)
        warnings.filterwarnings("once", category=DeprecationWarning)
        sys.excepthook = self.excepthook
        with self.one_line_failures():
            return click.Command.invoke(self, ctx)

    @contextlib.contextmanager
    def one_line_failures(self) -> Iterator[None]:
        """Turn any failure into its one ERROR line and an exit code."""
        try:
            yield
        except (click.exceptions.Exit, click.exceptions.Abort):
            raise  # --help, --version, ctx.exit(): not failures
        except Exception as exc:  # every failure gets its one line
            self.fail(exc)

    def fail(self, exc: Exception) -> NoReturn:
        """Log the one line for a failure and exit with its code."""
        code = FAILURE_EXIT_CODE
        if isinstance(exc, click.UsageError):
            message = f"{exc.format_message()} See `{self.name} --help`."
            code = USAGE_EXIT_CODE
        elif isinstance(exc, click.ClickException):
            message = exc.format_message()
        elif isinstance(exc, ConfigValidationError):
            message = "Config validation failed: " + "; ".join(exc.errors or [str(exc)])
        elif isinstance(exc, MatomoError | InputError):
            message = str(exc)
        elif isinstance(exc, MappingError):
            message = (
                f"`stream_maps`: {exc} Fix the stream map "
                "(https://sdk.meltano.com/en/latest/stream_maps.html)."
            )
        elif isinstance(exc, DiscoveryError):
            message = f"The catalog: {exc} Run `{self.name} --discover` for a valid catalog."
        elif isinstance(exc, BrokenPipeError):
            _drop_stdout()
            message = (
                "The output was closed while the tap wrote to it (broken pipe): the program "
                "reading it (the target) stopped; see its own error. A sync run again resumes "
                "from the last STATE message the target stored."
            )
        else:
            message = (
                f"Unexpected error ({type(exc).__name__}: {exc}). This is a bug in tap-matomo: "
                f"run again with {self.name.upper().replace('-', '_')}_LOGLEVEL=DEBUG for the "
                "traceback and report it."
            )
            self.logger.debug("Traceback of the unexpected error:", exc_info=exc)
        line = " ".join(mask_secrets(message, self.known_config).split())
        self.logger.error("%s", line)
        raise click.exceptions.Exit(code)


def _drop_stdout() -> None:
    """Send what is left of stdout to /dev/null: its reader is gone.

    Else Python's flush of stdout at exit fails again, with a line of its own.
    """
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)

"""The tap: settings, stream discovery, and clear errors at the command line."""

from __future__ import annotations

import contextlib
import re
import signal
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import click
from singer_sdk import Stream, Tap
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers._classproperty import classproperty
from singer_sdk.plugin_base import JSONSchemaValidator
from typing_extensions import override

from tap_matomo import dates
from tap_matomo.catalog import REPORTS, ReportSpec
from tap_matomo.cli import ConfigInput, MatomoCommand
from tap_matomo.discovery import EXTRA_REPORTS, declared_specs, discovered_specs
from tap_matomo.errors import (
    MatomoAuthError,
    MatomoError,
    MatomoUnavailableError,
    MatomoUrlError,
)
from tap_matomo.garbage import fewer_collections
from tap_matomo.inputs import (
    check_catalog,
    check_catalog_streams,
    check_state_shape,
    read_environment_config,
    read_json_object,
)
from tap_matomo.masking import mask_secrets
from tap_matomo.output import SingerWriter, StateLines
from tap_matomo.runtime import MatomoRun
from tap_matomo.settings import OTHER_STREAMS, check_settings, visit_log_settings
from tap_matomo.settings_schema import CONFIG_SCHEMA
from tap_matomo.state_check import Bookmark, check_bookmarks, future_bookmarks
from tap_matomo.streams.base import BASIS_SETTINGS, READ_WITH, MatomoStream, stale_partitions
from tap_matomo.streams.reports import ReportStream
from tap_matomo.streams.sites import GoalsStream, SitesStream
from tap_matomo.streams.transitions import TransitionsStream
from tap_matomo.streams.users_flow import UsersFlowStream
from tap_matomo.streams.visits import drop_identity_from_catalog, visit_streams

if TYPE_CHECKING:
    from types import FrameType

    from jsonschema import ValidationError

#: The class that turns the answers of a catalog entry into rows (`ReportSpec.stream_class`).
STREAM_CLASSES: dict[str, type[ReportStream]] = {
    "report": ReportStream,
    "transitions": TransitionsStream,
    "users_flow": UsersFlowStream,
}


class TapMatomo(Tap):
    """Singer tap for Matomo: sites, goals, every report family and the raw visit log."""

    name = "tap-matomo"
    config_jsonschema = CONFIG_SCHEMA.to_dict()
    #: How messages name the state and the catalog: the command line names their files.
    state_source = "The state"
    catalog_source = "The catalog"
    #: msgspec instead of simplejson: a tenth of the CPU per record (see output.py).
    message_writer_class = SingerWriter
    #: Set by :meth:`run_discovery` (`--discover`): the catalog adds the server's own reports.
    live_discovery = False

    @override
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if isinstance(self.message_writer, SingerWriter):
            self._state_writer = StateLines(self.message_writer)

    @override
    def discover_streams(self) -> list[Stream]:
        """The catalog's streams, the declared reports, and the server's reports when needed.

        The server's report metadata is read when discovering (`--discover`), or when the
        given catalog selects a stream that only the server knows: a sync of the tap's own
        streams sends no request for it.
        """
        run = MatomoRun(dict(self.config))
        streams: list[Stream] = [SitesStream(self, run), GoalsStream(self, run)]
        taken = set(OTHER_STREAMS) | {spec.name for spec in REPORTS}
        specs = [*REPORTS, *declared_specs(self.config.get(EXTRA_REPORTS), taken, [])]
        specs += self._server_reports(run, specs, taken)
        streams += [STREAM_CLASSES[spec.stream_class](self, run, spec) for spec in specs]
        streams += visit_streams(self, run)
        return streams

    def _server_reports(
        self, run: MatomoRun, known: list[ReportSpec], taken: set[str]
    ) -> list[ReportSpec]:
        """Streams for the reports of the server that the catalog lacks (see discovery.py)."""
        if self.live_discovery:
            return self._discover_live(run, known, taken)
        wanted = self._selected_elsewhere(taken)
        if not wanted:
            return []
        found = [
            s
            for s in discovered_specs(self._report_metadata(run), known, taken)
            if s.name in wanted
        ]
        for name in sorted(wanted - {spec.name for spec in found}):
            self.logger.warning(
                "The catalog selects '%s', which is neither in `extra_reports` nor a report "
                "the server lists for the configured sites (plugin deactivated, report "
                "deleted?): skipped. Run `--discover` again to refresh the catalog.",
                name,
            )
        return found

    def _selected_elsewhere(self, taken: set[str]) -> set[str]:
        """Streams the input catalog selects that neither the catalog nor the settings know."""
        if self.input_catalog is None:
            return set()
        return {
            entry.tap_stream_id
            for entry in self.input_catalog.streams
            if entry.tap_stream_id not in taken and entry.metadata.resolve_selection()[()]
        }

    def _discover_live(
        self, run: MatomoRun, known: list[ReportSpec], taken: set[str]
    ) -> list[ReportSpec]:
        """The server's reports, or none (one line says why) when it cannot be asked."""
        try:
            run.settings  # noqa: B018 - the checked settings, or ConfigValidationError
        except ConfigValidationError:
            self.logger.info(
                "Live discovery needs a valid config with `url`, `token_auth` and the sites "
                "(`site_ids` or `all_sites`), and a reachable server: this catalog has the "
                "tap's own reports only, not those of the server's plugins."
            )
            return []
        try:
            return discovered_specs(self._report_metadata(run), known, taken)
        except (MatomoUrlError, MatomoUnavailableError) as exc:
            self.logger.warning(
                "Live discovery needs a reachable server (%s): this catalog has the tap's own "
                "reports only, not those of the server's plugins.",
                exc,
            )
            return []

    def _report_metadata(self, run: MatomoRun) -> dict[int, list[Any]]:
        """Each site's report metadata; a site whose answer is unusable is left out, said once."""
        usable: dict[int, list[Any]] = {}
        for site_id, answer in run.report_metadata().items():
            if isinstance(answer, MatomoAuthError):
                raise answer
            if isinstance(answer, list):
                usable[site_id] = answer
                continue
            reason = answer.detail if isinstance(answer, MatomoError) else "not a list"
            self.logger.warning(
                "Site %s: no report metadata (API.getReportMetadata: %s): its plugin reports "
                "are not discovered.",
                site_id,
                reason,
            )
        return usable

    @override
    def run_discovery(self) -> str:
        """`--discover`: the catalog with the server's reports (see :meth:`discover_streams`).

        The command line builds the tap without its streams (``setup_mapper=False``): they are
        built here, with live discovery; a Matomo error is its one line (cli.py).
        """
        self.live_discovery = True
        return super().run_discovery()

    @override
    def setup_mapper(self) -> None:
        """Set up stream maps from a catalog that honours `visits_exclude_identity`."""
        if visit_log_settings(dict(self.config)).exclude_identity:
            drop_identity_from_catalog(self.input_catalog)
        super().setup_mapper()

    @override
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """The schema's checks, then ours; every message names its setting, secrets masked."""
        schema = self.config_jsonschema
        self.append_builtin_config(schema)
        # The SDK's validator (it also fills the defaults in), with our wording.
        errors = [_schema_error(e) for e in JSONSchemaValidator(schema).iter_errors(self._config)]
        if not errors:
            settings, errors = check_settings(dict(self.config))
            for note in settings.notes if settings else ():
                self.logger.warning("%s", note)
        errors = [mask_secrets(error, dict(self.config)) for error in errors]
        if errors:
            if raise_errors:
                raise ConfigValidationError("Config validation failed", errors=errors)
            self.logger.warning("Config validation failed: %s", "; ".join(errors))
        return errors

    @override
    def load_state(self, state: dict[str, Any]) -> None:
        """Load a state whose shape is checked (the SDK indexes into it unchecked)."""
        check_state_shape(state)
        super().load_state(state)

    @override
    def sync_all(self) -> None:
        """Sync, once every bookmark of the streams to sync is known to be usable."""
        selected = [s for s in self.streams.values() if s.selected or s.has_selected_descendents]
        check_catalog_streams(selected, self.catalog_source)
        bookmarks = check_bookmarks(self.state, selected, self.state_source)
        self._forget_future_bookmarks(bookmarks)
        self._forget_stale_bookmarks(selected)
        self._warn_of_a_future_start(selected)
        with fewer_collections():
            super().sync_all()

    @override
    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        """Stop on SIGTERM or SIGINT as the SDK does (one last STATE message), as a failure.

        The SDK exits with code 0, so a scheduler that stopped a run (a timeout, a cancel)
        took it for a complete one. Exit code 128 + the signal's number, as shells give.
        """
        with contextlib.suppress(SystemExit):
            super()._handle_termination(signum, frame)
        self.logger.error(
            "Stopped by %s before the end of the sync; the last STATE message covers every "
            "record written, and a run started again resumes from it.",
            signal.Signals(signum).name,
        )
        raise SystemExit(128 + signum)

    def _warn_of_a_future_start(self, streams: list[Stream]) -> None:
        """One WARNING when `start_date` or `report_date` is after today on every calendar.

        A slip of the year (2030 for 2020) otherwise made a run that succeeds with no record
        (each stream saying "nothing new to read"), or read today's report for a future
        `report_date` without a word. Not an error: a pipeline may be set up before the day its
        data starts.
        """
        dated = [s for s in streams if isinstance(s, MatomoStream) and s.replication_key]
        if not dated:
            return
        window = dated[0].run.settings.dates
        # the calendar furthest ahead is UTC+14 (Kiribati): later than its today is the future
        latest_today = (dates.utc_now() + timedelta(hours=14)).date()
        outcomes = {
            "start_date": (window.start_date, "nothing is read until that day comes"),
            "report_date": (window.report_date, "the period of each site's today is read"),
        }
        for name, (day, outcome) in outcomes.items():
            if day is not None and day > latest_today:
                self.logger.warning(
                    "`%s` %s is after today on every site's calendar: %s. Check the date "
                    "(its year?).",
                    name,
                    day.isoformat(),
                    outcome,
                )

    def _forget_future_bookmarks(self, bookmarks: list[Bookmark]) -> None:
        """Warn of each bookmark after its site's today, and read its partition from the start.

        Such a bookmark comes from a wrong clock, a hand-edited state or another server's
        state; kept, it skipped its stream until the calendar caught up, losing what happened
        meanwhile. Read again from the configured start, nothing is lost: records replace
        earlier ones by primary key, and the partition gets a true bookmark.
        """
        if not bookmarks:
            return
        run = next(s.run for s in self.streams.values() if isinstance(s, MatomoStream))

        def timezone_of(site_id: int) -> str | None:
            try:
                return run.site(site_id).timezone
            except KeyError:  # a site no longer configured: its bookmark is not used
                return None

        finality = timedelta(minutes=visit_log_settings(dict(self.config)).finality_minutes)
        for bookmark, now in future_bookmarks(bookmarks, timezone_of, reread=finality):
            self.logger.warning(
                "%s: stream '%s', site %s: the bookmark %s is after %s, so a wrong clock or "
                "another server's state wrote it. Ignoring it: the site is read from the "
                "configured start (`start_date`/`start_days_back`) and gets a new bookmark.",
                self.state_source,
                bookmark.stream,
                bookmark.site_id,
                bookmark.value.isoformat(),
                now,
            )
            stream_state = self.state["bookmarks"][bookmark.stream]
            for partition in stream_state.get("partitions", []):
                if partition.get("context") == bookmark.context:
                    partition.pop("replication_key_value", None)

    def _forget_stale_bookmarks(self, streams: list[Stream]) -> None:
        """Read a stream from the start when its bookmarks were written with another basis.

        Each bookmark keeps what it was read with (`read_with`: the segment, a report's
        period). Changed, the bookmark says nothing of the new rows before it; rows are keyed
        as before, so reading again from the configured start doubles nothing. One WARNING a
        stream; the bookmarks are dropped from the state and get the new basis.
        """
        for stream in streams:
            if not isinstance(stream, MatomoStream):
                continue
            stale = stale_partitions(stream, self.state)
            if not stale:
                continue
            now = stream.bookmark_basis()
            written = stale[0][READ_WITH]
            changed = [key for key in now if written.get(key) != now[key]]
            self.logger.warning(
                "Stream '%s': its bookmarks were written with %s (%s changed): reading it from "
                "the configured start, not from %s (site %s).",
                stream.name,
                ", ".join(f"{key} {written.get(key)!r}, now {now[key]!r}" for key in changed),
                ", ".join(BASIS_SETTINGS.get(key, f"`{key}`") for key in changed),
                stale[0].get("replication_key_value"),
                stale[0].get("context", {}).get("site_id"),
            )
            for partition in stale:
                partition.pop("replication_key_value", None)
                partition[READ_WITH] = now

    # -- the command line -----------------------------------------------------------------------

    @classproperty
    def _env_var_config(cls) -> dict[str, Any]:
        """The settings of ``--config ENV``; a variable that cannot be parsed is named."""
        schema = cls.config_jsonschema
        cls.append_builtin_config(schema)
        return read_environment_config(schema, cls._env_var_prefix)

    @classmethod
    @override
    def get_singer_command(cls) -> click.Command:
        """The SDK's command and options, failing with one clear line (see cli.py).

        `--catalog` and `--state` are read here, not opened by click, so that a missing file
        is named like any other input problem.
        """
        command = super().get_singer_command()
        for param in command.params:
            if param.name in ("catalog", "state"):
                param.type = click.STRING
        return MatomoCommand(
            name=command.name,
            callback=command.callback,
            params=command.params,
            help=command.help,
            context_settings={"help_option_names": ["--help"]},
            logger=cls.logger,
        )

    @classmethod
    @override
    def cb_config(
        cls, ctx: click.Context, param: click.Option, value: tuple[str, ...]
    ) -> ConfigInput:  # type: ignore[override]
        """Read the `--config` files (later ones override earlier ones), or note `ENV`."""
        config = ConfigInput()
        for path in value:
            if path == "ENV":
                config.parse_env = True
            else:
                config.config |= read_json_object(path, "--config")
        if isinstance(ctx.command, MatomoCommand):
            ctx.command.known_config = {
                **config.config,
                **(cls._env_var_config if config.parse_env else {}),
            }
        return config

    @classmethod
    @override
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: ConfigInput | None = None,
        state: str | None = None,
        catalog: str | None = None,
    ) -> None:
        """Run the sync from the command line's files, each read and checked first."""
        super(Tap, cls).invoke(about=about, about_format=about_format)
        cls.print_version(print_fn=cls.logger.info)
        config = config or ConfigInput()
        catalog_dict = None
        catalog_source = f"Catalog file {catalog!r} (`--catalog`)"
        if catalog is not None:
            catalog_dict = read_json_object(catalog, "--catalog")
            check_catalog(catalog_dict, catalog_source)
        state_dict = None
        state_source = f"State file {state!r} (`--state`)"
        if state is not None:
            state_dict = read_json_object(state, "--state")
            check_state_shape(state_dict, state_source)
        tap = cls(
            config=config.config,
            state=state_dict,
            catalog=catalog_dict,
            parse_env_config=config.parse_env,
            validate_config=True,
        )
        if state is not None:
            tap.state_source = state_source
        if catalog is not None:
            tap.catalog_source = catalog_source
        tap.sync_all()


_REQUIRED = re.compile(r"^'(.+)' is a required property$")


def _schema_error(error: ValidationError) -> str:
    """A schema error naming its setting the project's way: "`site_ids[0]`: ..."."""
    if not error.path:
        if error.validator == "required" and (match := _REQUIRED.match(error.message)):
            return f"`{match.group(1)}` is required (`tap-matomo --about` lists the settings)."
        return error.message
    first, *rest = error.path
    return f"`{first}{''.join(f'[{part}]' for part in rest)}`: {error.message}"


if __name__ == "__main__":
    TapMatomo.cli()

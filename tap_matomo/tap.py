"""The tap: settings, stream discovery, and clear errors at the command line."""

from __future__ import annotations

import logging
from typing import Any

from singer_sdk import Stream, Tap
from singer_sdk.exceptions import ConfigValidationError
from typing_extensions import override

from tap_matomo.catalog import REPORTS
from tap_matomo.errors import MatomoError
from tap_matomo.runtime import MatomoRun
from tap_matomo.settings import CONFIG_SCHEMA, check_settings, visit_log_settings
from tap_matomo.streams.reports import ReportStream
from tap_matomo.streams.sites import GoalsStream, SitesStream
from tap_matomo.streams.transitions import TransitionsStream
from tap_matomo.streams.users_flow import UsersFlowStream
from tap_matomo.streams.visits import drop_identity_from_catalog, visit_streams

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

    @override
    def discover_streams(self) -> list[Stream]:
        run = MatomoRun(dict(self.config))
        streams: list[Stream] = [SitesStream(self, run), GoalsStream(self, run)]
        streams += [STREAM_CLASSES[spec.stream_class](self, run, spec) for spec in REPORTS]
        streams += visit_streams(self, run)
        return streams

    @override
    def setup_mapper(self) -> None:
        """Set up stream maps from a catalog that honours `visits_exclude_identity`."""
        if visit_log_settings(dict(self.config)).exclude_identity:
            drop_identity_from_catalog(self.input_catalog)
        super().setup_mapper()

    @override
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        errors = super()._validate_config(raise_errors=raise_errors)
        if errors:
            return errors
        _, errors = check_settings(dict(self.config))
        if errors:
            if raise_errors:
                raise ConfigValidationError("Config validation failed", errors=errors)
            self.logger.warning("Config validation failed: %s", "; ".join(errors))
        return errors

    @classmethod
    @override
    def invoke(cls, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Run the sync; a Matomo error ends it with one clear line and exit code 1."""
        try:
            super().invoke(*args, **kwargs)
        except MatomoError as exc:
            logging.getLogger(cls.name).error("%s", exc)
            raise SystemExit(1) from None


if __name__ == "__main__":
    TapMatomo.cli()

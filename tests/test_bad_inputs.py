"""Bad input of every kind, through the real command line: one ERROR line, no traceback, no secret.

Each case runs the tap's click command in this process (the command `tap-matomo` builds, with its
option callbacks, file reading, validation and sync) against the loopback fake Matomo, and
checks the exit code, that exactly one ERROR line is logged and names the cause, that no output
holds a traceback or a secret (the token, a password in `url`), and how many HTTP requests the
fake received: none for a bad setting or file, one for a token Matomo refuses.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from singer_sdk.logging import ConsoleFormatter

from tap_matomo.inputs import read_environment_config
from tap_matomo.runtime import MatomoRun
from tap_matomo.tap import TapMatomo
from tests.conftest import catalog_selecting
from tests.fake_matomo import TOKEN, FakeMatomo

#: Secrets placed in the inputs; none may appear in any output.
WRONG_TOKEN = "wrongtoken-5ec2e7-0000000000000000"
URL_PASSWORD = "pw-5ec2e7-hunter2"
SECRETS = (TOKEN, WRONG_TOKEN, URL_PASSWORD)

#: A setting removed from the base config.
DROP = object()
#: Not a number, as a JSON file may hold it (``NaN``, which Python's json reads).
NAN = float("nan")


@dataclass
class CliRun:
    """What one command line run printed and returned."""

    code: int
    stdout: str
    log: str
    records: list[logging.LogRecord]

    @property
    def error_lines(self) -> list[str]:
        return [r.getMessage() for r in self.records if r.levelno >= logging.ERROR]

    @property
    def output(self) -> str:
        return self.stdout + self.log


@contextlib.contextmanager
def _captured_logs(level: int) -> Iterator[tuple[io.StringIO, list[logging.LogRecord]]]:
    """The root logger's output as the command line formats it, and its records."""
    text = io.StringIO()
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    console = logging.StreamHandler(text)
    console.setFormatter(ConsoleFormatter())
    keep = Keep()
    root = logging.getLogger()
    previous = root.level
    for handler in (console, keep):
        handler.setLevel(level)
        root.addHandler(handler)
    root.setLevel(level)
    try:
        yield text, records
    finally:
        root.removeHandler(console)
        root.removeHandler(keep)
        root.setLevel(previous)


def run_cli(args: list[str], *, level: int = logging.INFO) -> CliRun:
    """Run `tap-matomo ARGS` in this process: the command the console script builds."""
    command = TapMatomo.get_singer_command()
    stdout = io.StringIO()
    hook = sys.excepthook
    with _captured_logs(level) as (text, records), contextlib.redirect_stdout(stdout):
        try:
            command.main(args, prog_name="tap-matomo", standalone_mode=True)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        else:  # pragma: no cover - click always exits in standalone mode
            code = 0
        finally:
            sys.excepthook = hook
    return CliRun(code, stdout.getvalue(), text.getvalue(), records)


@dataclass(frozen=True)
class Case:
    """One bad input and what the user must see."""

    id: str
    #: Fragments that the one ERROR line must contain (the cause, the setting or file).
    names: tuple[str, ...]
    #: Settings changed in (or, with DROP, removed from) the base config.
    config: dict[str, Any] = field(default_factory=dict)
    #: Raw file contents by option (`--config`, `--catalog`, `--state`); JSON-encoded if not str.
    files: dict[str, Any] = field(default_factory=dict)
    #: Extra arguments (`--test`, `--discover`...).
    args: tuple[str, ...] = ()
    #: HTTP requests the fake must have received.
    requests: int = 0
    code: int = 1
    #: Prepares the fake (a refused token, an empty site list...).
    server: Callable[[FakeMatomo], None] | None = None
    #: False: the arguments alone, without the config file of the other cases.
    with_files: bool = True


def _base_config(fake: FakeMatomo) -> dict[str, Any]:
    return {
        "url": fake.url,
        "token_auth": TOKEN,
        "site_ids": [1],
        "start_date": "2026-11-20",
        "end_date": "2026-11-21",
        "max_tries": 1,
        "retry_wait_seconds": 0,
    }


def _with_password(fake: FakeMatomo) -> str:
    return fake.url.replace("http://", f"http://user:{URL_PASSWORD}@")


def _answer(method: str, status: int, body: Any) -> Callable[[FakeMatomo], None]:
    def prepare(fake: FakeMatomo) -> None:
        fake.handlers[method] = lambda params: (status, body)

    return prepare


def _raw_answer(status: int, body: str, content_type: str) -> Callable[[FakeMatomo], None]:
    def prepare(fake: FakeMatomo) -> None:
        fake.fail_next(status, body, content_type=content_type)

    return prepare


SITES = "SitesManager.getSitesWithAtLeastViewAccess"
REMEDY_STATE = "--full-refresh"
REMEDY_CATALOG = "--discover"


def _state(stream: str, value: Any, context: dict[str, Any] | None = None) -> dict[str, Any]:
    partition = {"context": context or {"site_id": 1}, "replication_key_value": value}
    return {"bookmarks": {stream: {"partitions": [partition]}}}


CONFIG_FILE_CASES = [
    Case("config-missing", ("Config file", "was not found"), files={"--config": None}),
    Case("config-directory", ("Config file", "is a directory"), files={"--config": "/"}),
    Case("config-empty", ("Config file", "is empty"), files={"--config": ""}),
    Case("config-blank", ("Config file", "is empty"), files={"--config": "  \n"}),
    Case("config-not-json", ("Config file", "not valid JSON", "line 1"), files={"--config": "{x"}),
    Case(
        "config-truncated",
        ("Config file", "not valid JSON"),
        files={"--config": f'{{"url": "http://x", "token_auth": "{TOKEN}", "site_'},
    ),
    Case("config-list", ("Config file", "holds a list"), files={"--config": [1, 2]}),
    Case("config-string", ("Config file", "holds a string"), files={"--config": '"just text"'}),
    Case("config-null", ("Config file", "holds null"), files={"--config": "null"}),
    Case("config-number", ("Config file", "holds a number"), files={"--config": 3}),
    Case("config-not-utf8", ("Config file", "not UTF-8"), files={"--config": b"{\xff\xfe}"}),
    Case(
        "config-second-missing",
        ("Config file", "other.json", "was not found"),
        args=("--config", "{tmp}/other.json"),
    ),
    Case(
        "config-trailing-comma",
        ("Config file", "not valid JSON"),
        files={"--config": '{"site_ids": [1,],}'},
    ),
    Case(
        "config-about-missing",
        ("Config file", "was not found"),
        files={"--config": None},
        args=("--about",),
    ),
    Case(
        "config-discover-missing",
        ("Config file", "was not found"),
        files={"--config": None},
        args=("--discover",),
    ),
    Case(
        "config-discover-list",
        ("Config file", "holds a list"),
        files={"--config": []},
        args=("--discover",),
    ),
    Case(
        "config-test-not-json",
        ("Config file", "not valid JSON"),
        files={"--config": "{"},
        args=("--test",),
    ),
]

SETTING_CASES = [
    Case("url-missing", ("`url`",), config={"url": DROP}),
    Case("url-no-scheme", ("`url`", "not an http(s) URL"), config={"url": "matomo.example.com"}),
    Case("url-ftp", ("`url`", "not an http(s) URL"), config={"url": "ftp://matomo.example.com"}),
    Case("url-number", ("`url`", "not of type"), config={"url": 12}),
    Case("url-broken-ipv6", ("`url`", "not an http(s) URL"), config={"url": "http://[::1"}),
    Case("url-port-text", ("`url`", "invalid port"), config={"url": "http://m.example.com:x"}),
    Case("url-port-huge", ("`url`", "invalid port"), config={"url": "http://m.example.com:99999"}),
    Case("url-blank-inside", ("`url`", "blank"), config={"url": "http://m.exa mple.com"}),
    Case(
        "url-with-token",
        ("`url`", "`token_auth`"),
        config={"url": f"https://m.example.com/?module=API&token_auth={TOKEN}"},
    ),
    Case(
        "url-ftp-with-password",
        ("`url`", "***"),
        config={"url": f"ftp://user:{URL_PASSWORD}@matomo.example.com"},
    ),
    Case("token-missing", ("token_auth",), config={"token_auth": DROP}),
    Case("token-empty", ("`token_auth`", "empty"), config={"token_auth": ""}),
    Case("token-blank", ("`token_auth`", "empty"), config={"token_auth": "  \n"}),
    Case("token-list", ("`token_auth`", "not of type"), config={"token_auth": [TOKEN]}),
    Case("token-object", ("`token_auth`", "not of type"), config={"token_auth": {"t": TOKEN}}),
    Case(
        "token-number",
        ("`token_auth`", "not of type"),
        config={"token_auth": 1234567890123456789},
    ),
    Case("token-null", ("`token_auth`",), config={"token_auth": None}),
    Case("sites-none", ("`site_ids` or `all_sites`",), config={"site_ids": DROP}),
    Case("sites-empty", ("`site_ids` or `all_sites`",), config={"site_ids": []}),
    Case("sites-and-all", ("`site_ids` and `all_sites`",), config={"all_sites": True}),
    Case("sites-zero", ("`site_ids[0]`", "minimum"), config={"site_ids": [0]}),
    Case("sites-negative", ("`site_ids[1]`", "minimum"), config={"site_ids": [1, -2]}),
    Case("sites-string", ("`site_ids`", "not of type"), config={"site_ids": "1"}),
    Case("sites-text-item", ("`site_ids[0]`", "not of type"), config={"site_ids": ["one"]}),
    Case("sites-fraction", ("`site_ids[0]`", "not of type"), config={"site_ids": [1.5]}),
    Case("sites-huge", ("`site_ids[0]`", "maximum"), config={"site_ids": [2**40]}),
    Case("all-sites-text", ("`all_sites`", "not of type"), config={"all_sites": "yes"}),
    Case(
        "start-date-garbage",
        ("`start_date`", "not a date"),
        config={"start_date": "2026-11-20garbage"},
    ),
    Case("start-date-invalid", ("`start_date`", "not a date"), config={"start_date": "2026-13-45"}),
    Case("start-date-compact", ("`start_date`", "not a date"), config={"start_date": "20261120"}),
    Case("start-date-number", ("`start_date`", "not of type"), config={"start_date": 20261120}),
    Case("end-before-start", ("`end_date`", "before"), config={"end_date": "2026-11-01"}),
    Case("report-date-word", ("`report_date`", "not a date"), config={"report_date": "tomorrow"}),
    Case(
        "start-date-before-matomo",
        ("`start_date`", "before 1991-08-06"),
        config={"start_date": "1900-01-01"},
    ),
    Case(
        "start-date-and-days-back",
        ("`start_date` and `start_days_back`",),
        config={"start_days_back": 3},
    ),
    Case(
        "report-date-and-window",
        ("`report_date`",),
        config={"report_date": "2026-11-20"},
    ),
    Case(
        "start-days-back-huge",
        ("`start_days_back`", "maximum"),
        config={"start_date": DROP, "end_date": DROP, "start_days_back": 10_000_000},
    ),
    Case(
        "start-days-back-negative",
        ("`start_days_back`", "minimum"),
        config={"start_date": DROP, "end_date": DROP, "start_days_back": -1},
    ),
    Case(
        "end-days-back-further",
        ("`end_days_back`", "further back"),
        config={"start_date": DROP, "end_date": DROP, "start_days_back": 3, "end_days_back": 9},
    ),
    Case(
        "report-days-back-huge",
        ("`report_days_back`", "maximum"),
        config={"start_date": DROP, "end_date": DROP, "report_days_back": 10**12},
    ),
    Case("lookback-huge", ("`lookback_days`", "maximum"), config={"lookback_days": 10_000_000}),
    Case("lookback-negative", ("`lookback_days`", "minimum"), config={"lookback_days": -3}),
    Case("lookback-text", ("`lookback_days`", "not of type"), config={"lookback_days": "3"}),
    Case("period-unknown", ("`period`", "fortnight"), config={"period": "fortnight"}),
    Case(
        "period-override-stream",
        ("`period_overrides`", "no_such_stream"),
        config={"period_overrides": {"no_such_stream": "week"}},
    ),
    Case(
        "period-override-value",
        ("`period_overrides[referrers_all]`",),
        config={"period_overrides": {"referrers_all": "hourly"}},
    ),
    Case(
        "range-without-start",
        ("`period` range",),
        config={"period": "range", "start_date": DROP, "end_date": DROP},
    ),
    Case("periods-zero", ("`max_periods_per_request`",), config={"max_periods_per_request": 0}),
    Case("periods-huge", ("`max_periods_per_request`",), config={"max_periods_per_request": 10**9}),
    Case("bulk-zero", ("`bulk_request_size`", "minimum"), config={"bulk_request_size": 0}),
    Case("bulk-huge", ("`bulk_request_size`", "maximum"), config={"bulk_request_size": 1000}),
    Case("page-size-zero", ("`visits_page_size`",), config={"visits_page_size": 0}),
    Case(
        "finality-huge", ("`visits_finality_minutes`",), config={"visits_finality_minutes": 10**7}
    ),
    Case(
        "transitions-limit-zero",
        ("`transitions_limit_before_grouping`",),
        config={"transitions_limit_before_grouping": 0},
    ),
    Case(
        "users-flow-step-zero",
        ("`users_flow_interaction_positions[0]`",),
        config={"users_flow_interaction_positions": [0]},
    ),
    Case("page-urls-text", ("`page_urls`", "not of type"), config={"page_urls": "https://x/"}),
    Case(
        "page-urls-empty-item", ("`page_urls`", "empty"), config={"page_urls": ["https://x/", ""]}
    ),
    Case("segment-blank", ("`segment`",), config={"segment": "   "}),
    Case(
        "flattening-unknown",
        ("`report_flattening`", "nope"),
        config={"report_flattening": {"nope": "flat"}},
    ),
    Case(
        "subtables-unknown-stream",
        ("`subtables`", "nope"),
        config={"subtables": [{"stream": "nope", "subtable_id": 1}]},
    ),
    Case(
        "subtables-id-zero",
        ("`subtables[0][subtable_id]`", "minimum"),
        config={"subtables": [{"stream": "referrers_search_engines", "subtable_id": 0}]},
    ),
    Case("verify-ssl-text", ("`verify_ssl`", "not of type"), config={"verify_ssl": "no"}),
    # a header value requests refuses was retried as a lost connection for two minutes; one
    # http.client cannot encode was "a bug in tap-matomo"
    Case("user-agent-line-break", ("`user_agent`", "line break"), config={"user_agent": "a\nb"}),
    Case("user-agent-leading-space", ("`user_agent`", "space"), config={"user_agent": " a"}),
    Case("user-agent-not-latin-1", ("`user_agent`", "Latin-1"), config={"user_agent": "tap ✓"}),
    Case("user-agent-nul", ("`user_agent`", "control"), config={"user_agent": "a\x00b"}),
    # JSON files may hold NaN (Python reads it), which no bound of the schema refuses
    Case("retry-wait-nan", ("`retry_wait_seconds`", "NaN"), config={"retry_wait_seconds": NAN}),
    Case("timeout-nan", ("`request_timeout`", "nan"), config={"request_timeout": NAN}),
    Case(
        "stream-map-bad-expression",
        ("`stream_maps`", "foo("),
        config={"stream_maps": {"visits_summary": {"nb_visits": "foo("}}},
    ),
    Case(
        "stream-map-unknown-key",
        ("`stream_maps`", "'nope'"),
        config={"stream_maps": {"visits_summary": {"__key_properties__": ["nope"]}}},
    ),
    Case(
        "stream-map-not-object",
        ("`stream_maps[visits_summary]`",),
        config={"stream_maps": {"visits_summary": 5}},
    ),
    Case(
        "bad-setting-in-test-mode",
        ("`start_date`", "not a date"),
        config={"start_date": "2026-11-20garbage"},
        args=("--test",),
    ),
    Case(
        "token-list-in-test-mode",
        ("`token_auth`", "not of type"),
        config={"token_auth": [TOKEN]},
        args=("--test",),
    ),
]

CATALOG_CASES = [
    Case("catalog-missing", ("Catalog file", "was not found"), files={"--catalog": None}),
    Case("catalog-not-json", ("Catalog file", "not valid JSON"), files={"--catalog": "{]"}),
    Case("catalog-empty", ("Catalog file", "is empty"), files={"--catalog": ""}),
    Case("catalog-list", ("Catalog file", "holds a list"), files={"--catalog": []}),
    Case(
        "catalog-streams-object",
        ("`streams` must be a list", REMEDY_CATALOG),
        files={"--catalog": {"streams": {}}},
    ),
    Case(
        "catalog-streams-missing",
        ("`streams` must be a list", REMEDY_CATALOG),
        files={"--catalog": {"stream": []}},
    ),
    Case(
        "catalog-entry-text",
        ("`streams[0]`", "not a string"),
        files={"--catalog": {"streams": ["visits_summary"]}},
    ),
    Case(
        "catalog-entry-no-id",
        ("`streams[0]`", "`tap_stream_id`"),
        files={"--catalog": {"streams": [{"schema": {}}]}},
    ),
    Case(
        "catalog-entry-no-schema",
        ("'visits_summary'", "no `schema`", REMEDY_CATALOG),
        files={"--catalog": {"streams": [{"tap_stream_id": "visits_summary", "metadata": []}]}},
    ),
    Case(
        "catalog-schema-list",
        ("'visits_summary'", "no `schema`"),
        files={"--catalog": {"streams": [{"tap_stream_id": "visits_summary", "schema": []}]}},
    ),
    Case(
        "catalog-properties-list",
        ("'visits_summary'", "`schema.properties`"),
        files={
            "--catalog": {
                "streams": [{"tap_stream_id": "visits_summary", "schema": {"properties": []}}]
            }
        },
    ),
    Case(
        "catalog-metadata-object",
        ("'visits_summary'", "`metadata`"),
        files={
            "--catalog": {
                "streams": [{"tap_stream_id": "visits_summary", "schema": {}, "metadata": {}}]
            }
        },
    ),
    Case(
        "catalog-metadata-no-breadcrumb",
        ("'visits_summary'", "`metadata`"),
        files={
            "--catalog": {
                "streams": [
                    {
                        "tap_stream_id": "visits_summary",
                        "schema": {},
                        "metadata": [{"metadata": {"selected": True}}],
                    }
                ]
            }
        },
    ),
]


def _discovered(change: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
    """A catalog discovered for the config, `visits_summary` selected, then changed."""

    def catalog(config: dict[str, Any]) -> dict[str, Any]:
        discovered = catalog_selecting(config, {"visits_summary"})
        entry = next(e for e in discovered["streams"] if e["tap_stream_id"] == "visits_summary")
        change(entry)
        return discovered

    return catalog


def _deselect(entry: dict[str, Any], column: str) -> None:
    """Deselect a column of a catalog entry, as a user editing its metadata would."""
    for meta in entry["metadata"]:
        if meta["breadcrumb"] == ["properties", column]:
            meta["metadata"].update(selected=False, inclusion="available")


CATALOG_CASES += [
    Case(
        "catalog-other-replication-key",
        ("'visits_summary'", "replication key 'nb_visits'", "'date'", REMEDY_CATALOG),
        files={"--catalog": _discovered(lambda e: e.update(replication_key="nb_visits"))},
    ),
    Case(
        "catalog-without-replication-key-column",
        ("'visits_summary'", "no 'date' column", REMEDY_CATALOG),
        files={"--catalog": _discovered(lambda e: e["schema"]["properties"].pop("date"))},
    ),
    Case(
        "catalog-unknown-key-property",
        ("'visits_summary'", "no 'visit_date' column"),
        files={"--catalog": _discovered(lambda e: e.update(key_properties=["visit_date"]))},
    ),
    # a column the tap keeps its bookmark on or keys rows by, deselected: 'a bug' at the first
    # record (KeyError), after records were written
    Case(
        "catalog-replication-key-deselected",
        ("'visits_summary'", "deselects 'date'", "replication key", REMEDY_CATALOG),
        files={"--catalog": _discovered(lambda e: _deselect(e, "date"))},
    ),
    Case(
        "catalog-key-column-deselected",
        ("'visits_summary'", "deselects 'site_id'", "key"),
        files={"--catalog": _discovered(lambda e: _deselect(e, "site_id"))},
    ),
    Case(
        "catalog-column-schema-number",
        ("'visits_summary'", "column 'nb_visits'", "must be an object"),
        files={"--catalog": _discovered(lambda e: e["schema"]["properties"].update(nb_visits=5))},
    ),
]

STATE_CASES = [
    Case("state-missing", ("State file", "was not found"), files={"--state": None}),
    Case("state-not-json", ("State file", "not valid JSON"), files={"--state": "{'a': 1}"}),
    Case("state-empty", ("State file", "is empty"), files={"--state": ""}),
    Case("state-list", ("State file", "holds a list"), files={"--state": []}),
    Case(
        "state-bookmarks-list",
        ("`bookmarks` must be an object", REMEDY_STATE),
        files={"--state": {"bookmarks": []}},
    ),
    Case(
        "state-stream-text",
        ("'visits_summary'", "must be an object", REMEDY_STATE),
        files={"--state": {"bookmarks": {"visits_summary": "2026-11-20"}}},
    ),
    Case(
        "state-partitions-object",
        ("'visits_summary'", "`partitions` must be a list", REMEDY_STATE),
        files={"--state": {"bookmarks": {"visits_summary": {"partitions": {}}}}},
    ),
    Case(
        "state-partition-no-context",
        ("'visits_summary'", "`partitions[0]`", "`context`"),
        files={"--state": {"bookmarks": {"visits_summary": {"partitions": [{}]}}}},
    ),
    Case(
        "state-partition-text",
        ("'visits_summary'", "`partitions[0]`"),
        files={"--state": {"bookmarks": {"visits_summary": {"partitions": ["site 1"]}}}},
    ),
    Case(
        "state-progress-markers-text",
        ("'visits_summary'", "`progress_markers` must be an object"),
        files={"--state": {"bookmarks": {"visits_summary": {"progress_markers": "x"}}}},
    ),
    Case(
        "state-partition-progress-markers-number",
        ("'visits_summary'", "`partitions[0]`: `progress_markers`"),
        files={
            "--state": {
                "bookmarks": {
                    "visits_summary": {
                        "partitions": [{"context": {"site_id": 1}, "progress_markers": 5}]
                    }
                }
            }
        },
    ),
    Case(
        "bookmark-report-word",
        (
            "State file",
            "'visits_summary'",
            '{"site_id": 1}',
            "'notadate'",
            "not a date",
            REMEDY_STATE,
        ),
        files={"--state": _state("visits_summary", "notadate")},
    ),
    Case(
        "bookmark-report-number",
        ("'visits_summary'", '{"site_id": 1}', "12345", "not a date"),
        files={"--state": _state("visits_summary", 12345)},
    ),
    Case(
        "bookmark-report-garbage-suffix",
        ("'visits_summary'", "not a date"),
        files={"--state": _state("visits_summary", "2026-11-20garbage")},
    ),
    Case(
        "bookmark-report-list",
        ("'referrers_all'", "not a date"),
        files={"--state": _state("referrers_all", ["2026-11-20"])},
    ),
    Case(
        "bookmark-visits-word",
        ("'visits'", '{"site_id": 1}', "'notadate'", "date-time", REMEDY_STATE),
        files={"--state": _state("visits", "notadate")},
    ),
    Case(
        "bookmark-visits-number",
        ("'visits'", "12345", "date-time"),
        files={"--state": _state("visits", 12345)},
    ),
    Case(
        "bookmark-visits-naive",
        ("'visits'", "UTC offset"),
        files={"--state": _state("visits", "2026-11-20T12:00:00")},
    ),
    Case(
        "bookmark-visits-date-only",
        ("'visits'", "UTC offset"),
        files={"--state": _state("visits", "2026-11-20")},
    ),
    Case(
        "bookmark-report-year-one",
        ("'visits_summary'", "'0001-01-02'", "before 1991-08-06"),
        files={"--state": _state("visits_summary", "0001-01-02")},
    ),
    Case(
        "bookmark-visits-year-one",
        ("'visits'", "before 1991-08-06"),
        files={"--state": _state("visits", "0001-01-01T00:00:00+00:00")},
    ),
    Case(
        "bookmark-stream-level",
        ("'visits_summary'", "'2026-02-30'", "not a date"),
        files={
            "--state": {"bookmarks": {"visits_summary": {"replication_key_value": "2026-02-30"}}}
        },
    ),
    Case(
        "bookmark-item-partition",
        ("'actions_page_url'", '"page_url": "https://x/"', "not a date"),
        config={"page_urls": ["https://x/"]},
        files={
            "--state": _state(
                "actions_page_url", "yesterday", {"site_id": 1, "page_url": "https://x/"}
            )
        },
    ),
]

SERVER_CASES = [
    Case(
        "token-refused",
        ("Unable to authenticate", "`token_auth`"),
        config={"token_auth": WRONG_TOKEN},
        requests=1,
    ),
    Case(
        "token-refused-in-test-mode",
        ("Unable to authenticate", "`token_auth`"),
        config={"token_auth": WRONG_TOKEN},
        args=("--test",),
        requests=1,
    ),
    Case(
        "token-refused-url-with-password",
        ("`token_auth`",),
        config={"token_auth": WRONG_TOKEN, "url": _with_password},
        requests=1,
    ),
    Case(
        "token-sees-no-site",
        ("`token_auth`", "no site at all", "site(s) 1"),
        server=_answer(SITES, 200, []),
        requests=1,
    ),
    Case(
        "token-sees-no-site-in-test-mode",
        ("`token_auth`", "no site at all"),
        server=_answer(SITES, 200, []),
        args=("--test",),
        requests=1,
    ),
    Case(
        "all-sites-token-sees-none",
        ("`token_auth`", "no site"),
        config={"site_ids": DROP, "all_sites": True},
        server=_answer(SITES, 200, []),
        requests=1,
    ),
    Case("site-not-viewable", ("`site_ids`", "site(s) 7"), config={"site_ids": [1, 7]}, requests=1),
    Case(
        "sites-answer-not-a-list",
        ("`url`", "JSON that is not Matomo's", "SitesManager.getSitesWithAtLeastViewAccess"),
        server=_answer(SITES, 200, {"idsite": 1}),
        requests=1,
    ),
    Case(
        "sites-answer-html",
        ("`url`",),
        server=_raw_answer(200, "<html><body>Welcome to nginx</body></html>", "text/html"),
        requests=1,
    ),
    Case(
        "sites-answer-truncated-json",
        ("`url`",),
        server=_raw_answer(200, '[{"idsite": "1", "na', "application/json"),
        requests=1,
    ),
    Case(
        "not-matomo-404",
        ("`url`",),
        server=_raw_answer(404, "<html>Not Found</html>", "text/html"),
        requests=1,
    ),
    Case(
        "matomo-refuses-method",
        ("SitesManager.getSitesWithAtLeastViewAccess", "does not exist"),
        server=_answer(SITES, 200, {"result": "error", "message": "The method does not exist"}),
        requests=1,
    ),
    Case(
        "unreachable-server",
        ("could not reach Matomo", "`url`"),
        config={"url": "http://127.0.0.1:9"},
    ),
    Case(
        "unreachable-server-in-test-mode",
        ("could not reach Matomo", "`url`"),
        config={"url": "http://127.0.0.1:9"},
        args=("--test",),
    ),
    Case(
        "unreachable-server-with-password",
        ("could not reach Matomo",),
        config={"url": f"http://user:{URL_PASSWORD}@127.0.0.1:9"},
    ),
]

USAGE_CASES = [
    Case("unknown-option", ("--bogus", "--help"), args=("--bogus",), code=2, with_files=False),
    Case(
        "about-format-unknown",
        ("--format", "xml"),
        args=("--about", "--format=xml"),
        code=2,
        with_files=False,
    ),
    Case("catalog-without-path", ("--catalog",), args=("--catalog",), code=2, with_files=False),
]

CASES = CONFIG_FILE_CASES + SETTING_CASES + CATALOG_CASES + STATE_CASES + SERVER_CASES + USAGE_CASES


def _write(path: Path, content: Any) -> None:
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content)
    else:
        path.write_text(json.dumps(content))


def _arguments(case: Case, fake: FakeMatomo, tmp_path: Path) -> list[str]:
    """The command line of a case, with its files written."""
    config = _base_config(fake)
    for name, value in case.config.items():
        if value is DROP:
            config.pop(name, None)
        else:
            config[name] = value(fake) if callable(value) else value
    files: dict[str, Any] = {"--config": config, **case.files}
    args: list[str] = []
    for option, given in files.items():
        content = given(config) if callable(given) else given
        path = tmp_path / f"{option.strip('-')}.json"
        if content == "/":
            path = tmp_path
        elif content is not None:
            _write(path, content)
        args += [option, str(path)]
    return args + [arg.replace("{tmp}", str(tmp_path)) for arg in case.args]


def test_there_are_at_least_80_bad_inputs() -> None:
    assert len(CASES) >= 80
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_one_clear_line(case: Case, fake: FakeMatomo, tmp_path: Path) -> None:
    if case.server is not None:
        case.server(fake)
    args = _arguments(case, fake, tmp_path) if case.with_files else list(case.args)

    result = run_cli(args)

    assert result.code == case.code, result.log
    assert len(result.error_lines) == 1, result.log
    line = result.error_lines[0]
    for fragment in case.names:
        assert fragment in line, (fragment, line)
    assert "Traceback" not in result.output
    assert not any(record.exc_info for record in result.records), result.log
    for secret in SECRETS:
        assert secret not in result.output, secret
    assert '"type":"RECORD"' not in result.stdout.replace(" ", "")
    assert len(fake.requests) == case.requests, [r.api_method for r in fake.requests]


def _records(stdout: str, stream: str) -> list[dict[str, Any]]:
    messages = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    return [m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] == stream]


def _states(stdout: str) -> list[dict[str, Any]]:
    messages = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    return [m["value"] for m in messages if m["type"] == "STATE"]


def _files(tmp_path: Path, **contents: Any) -> list[str]:
    args: list[str] = []
    for option, content in contents.items():
        path = tmp_path / f"{option}.json"
        _write(path, content)
        args += [f"--{option}", str(path)]
    return args


def test_duplicate_site_ids_are_extracted_once_with_a_warning(tmp_path: Path) -> None:
    with FakeMatomo(synthesize=True) as fake:
        config = {**_base_config(fake), "site_ids": [1, 2, 3, 1]}
        catalog = catalog_selecting(config, {"visits_summary"})
        result = run_cli(_files(tmp_path, config=config, catalog=catalog))

    assert result.code == 0, result.log
    records = _records(result.stdout, "visits_summary")
    keys = [(r["site_id"], r["date"]) for r in records]
    assert sorted(keys) == sorted(set(keys))
    assert {site for site, _ in keys} == {1, 2, 3}
    warnings = [r.getMessage() for r in result.records if r.levelno == logging.WARNING]
    assert any("`site_ids`" in w and "site(s) 1 more than once" in w for w in warnings)


def test_unexpected_error_is_one_line_with_its_traceback_at_debug(
    fake: FakeMatomo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(run: MatomoRun) -> list[Any]:
        raise ZeroDivisionError(f"a bug near {TOKEN}")

    monkeypatch.setattr(MatomoRun, "sites", property(broken))
    args = _files(tmp_path, config=_base_config(fake))

    result = run_cli(args)
    debug = run_cli(args, level=logging.DEBUG)

    assert result.code == 1
    assert len(result.error_lines) == 1
    assert "Unexpected error (ZeroDivisionError" in result.error_lines[0]
    assert "TAP_MATOMO_LOGLEVEL=DEBUG" in result.error_lines[0]
    assert "Traceback" not in result.output
    assert TOKEN not in result.output
    assert debug.code == 1
    assert len(debug.error_lines) == 1
    assert "Traceback" in debug.log
    assert "ZeroDivisionError" in debug.log


@pytest.mark.parametrize(
    "args",
    [
        ["--config", "{tmp}/missing.json"],
        ["--config", "{tmp}/config.json", "--test"],
    ],
    ids=["missing-config", "refused-token-in-test-mode"],
)
def test_the_console_script_prints_one_line(
    fake: FakeMatomo, tmp_path: Path, args: list[str]
) -> None:
    """The installed entry point (a separate process) behaves as the in-process command."""
    _write(tmp_path / "config.json", {**_base_config(fake), "token_auth": WRONG_TOKEN})
    command = [
        sys.executable,
        "-m",
        "tap_matomo",
        *(a.replace("{tmp}", str(tmp_path)) for a in args),
    ]

    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)

    errors = [line for line in result.stderr.splitlines() if "| ERROR" in line]
    assert result.returncode == 1, result.stderr
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert WRONG_TOKEN not in result.stderr + result.stdout
    assert len(fake.requests) == (1 if "--test" in args else 0)


@pytest.mark.parametrize(
    ("variables", "names"),
    [
        ({"TAP_MATOMO_SITE_IDS": "1,2"}, ("TAP_MATOMO_SITE_IDS", "`site_ids`", "JSON")),
        ({"TAP_MATOMO_LOOKBACK_DAYS": "three"}, ("TAP_MATOMO_LOOKBACK_DAYS", "`lookback_days`")),
        ({"TAP_MATOMO_TOKEN_AUTH": "  "}, ("`token_auth`", "empty")),
        # the SDK read any word it does not know as false: TLS checks off, identities kept
        ({"TAP_MATOMO_VERIFY_SSL": "ture"}, ("TAP_MATOMO_VERIFY_SSL", "`verify_ssl`", "boolean")),
        (
            {"TAP_MATOMO_VISITS_EXCLUDE_IDENTITY": "ys"},
            ("TAP_MATOMO_VISITS_EXCLUDE_IDENTITY", "`visits_exclude_identity`", "boolean"),
        ),
        ({"TAP_MATOMO_ALL_SITES": ""}, ("TAP_MATOMO_ALL_SITES", "`all_sites`", "true or false")),
    ],
    ids=[
        "site-ids-not-json",
        "lookback-not-a-number",
        "token-blank",
        "verify-ssl-typo",
        "exclude-identity-typo",
        "all-sites-empty",
    ],
)
def test_bad_environment_settings_are_one_line(
    fake: FakeMatomo, monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], names: tuple
) -> None:
    """`--config ENV`: the variable and its setting are named, never the value."""
    settings = {"TAP_MATOMO_URL": fake.url, "TAP_MATOMO_TOKEN_AUTH": WRONG_TOKEN}
    for name, value in {**settings, "TAP_MATOMO_SITE_IDS": "[1]", **variables}.items():
        monkeypatch.setenv(name, value)

    result = run_cli(["--config", "ENV"])

    assert result.code == 1
    assert len(result.error_lines) == 1, result.log
    for fragment in names:
        assert fragment in result.error_lines[0]
    assert WRONG_TOKEN not in result.output
    assert "Traceback" not in result.output
    assert fake.requests == []


@pytest.mark.parametrize(
    ("word", "value"),
    [("true", True), (" TRUE ", True), ("1", True), ("on", True), ("no", False), ("Off", False)],
)
def test_boolean_environment_words_are_read_whatever_their_case_and_blanks(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, word: str, value: bool
) -> None:
    """The words the SDK knows work in any case, and with blanks around them (the SDK read
    " TRUE " as false)."""
    monkeypatch.chdir(tmp_path)  # no .env file of the repository
    monkeypatch.setenv("TAP_MATOMO_VERIFY_SSL", word)
    config = read_environment_config(TapMatomo.config_jsonschema, "TAP_MATOMO_")
    assert config["verify_ssl"] is value

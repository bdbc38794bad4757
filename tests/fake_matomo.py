"""A fake Matomo on loopback that answers from real recorded Matomo 5.0.2 responses.

It speaks HTTP like Matomo: ``POST /index.php`` with ``module=API&method=...`` in the query
string and the other parameters (token included) in the form body, bulk requests, 401 for a bad
token, 200 + ``{"result": "error"}`` for API errors. It records every request it receives so
tests can check what the tap sent (e.g. that the token never appears in a URL).

Answers come from ``tests/fixtures/recordings`` (copied from ``shared/matomo-recordings``):

1. a recording whose query matches exactly (errors, special calls);
2. otherwise the answer is *assembled* per period from every recording that holds that period
   for that method, site and parameters (a ``last7``, a single day, an ``idSite=all`` answer...),
   the way Matomo would answer ``date=start,end``; ``filter_limit``/``filter_offset`` are
   applied like Matomo does (default 100 rows);
3. with ``synthesize=True`` (benchmarks, long windows) missing periods are filled with a copy of
   a recorded period of the same report.

Profiles: ``"plugin"`` (default) is the server after MarketingCampaignsReporting was activated
(recordings 0600+ win); ``"core"`` is the server before it (plugin calls answer "not enabled").
"""

from __future__ import annotations

import copy
import functools
import json
import re
import threading
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

from tests.faults import FaultPlan

RECORDINGS = Path(__file__).parent / "fixtures" / "recordings"
TOKEN = "0123456789abcdef0123456789abcdef"
TODAY = date(2026, 11, 26)
PLUGIN_FIRST_FILE = 600

#: Parameters that do not change which data Matomo returns.
COSMETIC = frozenset({"module", "format", "format_metrics", "token_auth", "totals"})
#: Parameters whose default value is the same as leaving them out.
DEFAULTS = {"flat": "0", "language": "en"}
#: Parameters that select the data slice (everything else must match exactly).
SLICE = frozenset({"idSite", "period", "date", "filter_limit", "filter_offset"})

AUTH_FAILED = "Unable to authenticate with the provided token. It is either invalid or expired."
TOKEN_IN_URL = (
    "Unable to authenticate with the provided token. It is either invalid, expired or is "
    "required to be sent as a POST parameter."
)


@dataclass
class Received:
    """One HTTP request as the fake received it."""

    http_method: str
    path: str
    raw_query: str
    query: dict[str, str]
    form: dict[str, str]
    raw_body: str
    headers: dict[str, str]

    @property
    def api_method(self) -> str:
        return self.query.get("method", self.form.get("method", ""))

    @property
    def params(self) -> dict[str, str]:
        return {**self.form, **self.query}  # GET wins, as in Matomo

    @property
    def methods(self) -> set[str]:
        """The API method, and for ``API.getBulkRequest`` the methods of its sub-requests."""
        inner = (
            dict(parse_qsl(url)).get("method", "")
            for key, url in self.params.items()
            if key.startswith("urls[")
        )
        return {self.api_method, *inner}


@dataclass
class Fault:
    """An answer to give instead of the real one (transient errors, broken proxies)."""

    status: int
    body: str
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    api_method: str | None = None


def _period_key(day: date, period: str) -> str:
    if period == "week":
        start = day - timedelta(days=day.weekday())
        return f"{start.isoformat()},{(start + timedelta(days=6)).isoformat()}"
    if period == "month":
        return f"{day.year:04d}-{day.month:02d}"
    if period == "year":
        return f"{day.year:04d}"
    return day.isoformat()


def _period_keys(start: date, end: date, period: str) -> list[str]:
    keys: list[str] = []
    day = start
    while day <= end:
        key = _period_key(day, period)
        if key not in keys:
            keys.append(key)
        day += timedelta(days=1)
    return keys


def _resolve_day(text: str) -> date | None:
    if text == "today":
        return TODAY
    if text == "yesterday":
        return TODAY - timedelta(days=1)
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _is_multi_date(params: dict[str, str]) -> bool:
    when = params.get("date", "")
    return params.get("period") != "range" and (
        "," in when or bool(re.match(r"^(last|previous)\d+$", when))
    )


def _is_multi_site(params: dict[str, str]) -> bool:
    site = params.get("idSite", "")
    return site == "all" or "," in site


def _ratio_percentages(value: Any) -> Any:
    """What ``format_metrics=0`` does to percentages: ``"26%"`` -> ``0.26``."""
    if isinstance(value, dict):
        return {k: _ratio_percentages(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_ratio_percentages(v) for v in value]
    if isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?%", value):
        return round(float(value[:-1]) / 100, 4)
    return value


def _limit(rows: Any, limit: int, offset: int) -> Any:
    if not isinstance(rows, list):
        return rows
    rows = rows[offset:]
    return rows if limit < 0 else rows[:limit]


class _Store:
    """Recorded answers, indexed for exact matches and for per-period assembly."""

    def __init__(self, directory: Path, profile: str) -> None:
        self.exact: dict[tuple, tuple[int, dict[str, str], Any]] = {}
        # (method, site, period, other params) -> period key -> value
        self.periods: dict[tuple, dict[str, Any]] = defaultdict(dict)
        self.refused_multi_date: dict[str, str] = {}
        self.refused_multi_site: dict[str, str] = {}
        self.plugin_errors: dict[str, str] = {}
        #: Modules (plugins) that answered at least one recorded call successfully.
        self.modules: set[str] = set()
        files = sorted(p for p in directory.glob("[0-9]*.json"))
        for path in files:
            number = int(path.name[:4])
            if profile == "core" and number >= PLUGIN_FIRST_FILE:
                continue
            record = json.loads(path.read_text())
            if "token_auth" not in record["request"].get("post_body", {}):
                continue  # answers to unauthenticated calls: the fake checks tokens itself
            if str(record["request"]["query"].get("format", "")).lower() != "json":
                continue  # XML/CSV renderings of the same data
            self._add(record)

    @staticmethod
    def exact_key(params: dict[str, str]) -> tuple:
        kept = {k: v for k, v in params.items() if k not in COSMETIC and DEFAULTS.get(k) != v}
        return tuple(sorted(kept.items()))

    @staticmethod
    def slice_key(method: str, site: str, period: str, params: dict[str, str]) -> tuple:
        other = {
            k: v
            for k, v in params.items()
            if k not in COSMETIC and k not in SLICE and k != "method" and DEFAULTS.get(k) != v
        }
        return (method, site, period, tuple(sorted(other.items())))

    def _add(self, record: dict[str, Any]) -> None:
        query = dict(record["request"]["query"])
        body = record["body"]
        status = record["status"]
        self.exact[self.exact_key(query)] = (status, record["headers"], body)
        method = query["method"]
        if not (isinstance(body, dict) and body.get("result") == "error"):
            self.modules.add(method.split(".")[0])
        if isinstance(body, dict) and body.get("result") == "error":
            message = body["message"]
            if "multiple dates" in message or (
                method == "Referrers.getAll" and _is_multi_date(query) and "multiple" in message
            ):
                self.refused_multi_date[method] = message
            elif "multiple sites" in message or ("multiple" in message and _is_multi_site(query)):
                self.refused_multi_site.setdefault(method, message)
            if "is not enabled" in message:
                self.plugin_errors[method.split(".")[0]] = message
            return
        if status != 200 or "period" not in query or "date" not in query:
            return
        if query.get("filter_limit") != "-1" and not _complete(body):
            return
        if "filter_offset" in query:
            return
        period = query["period"]
        sites = (
            {site: value for site, value in body.items()}
            if _is_multi_site(query) and isinstance(body, dict)
            else {query.get("idSite", ""): body}
        )
        for site, value in sites.items():
            key = self.slice_key(method, site, period, query)
            if period == "range":
                self.periods[key][query["date"]] = value
            elif _is_multi_date(query):
                if isinstance(value, dict):
                    self.periods[key].update(value)
            else:
                day = _resolve_day(query["date"])
                if day is not None:
                    self.periods[key][_period_key(day, period)] = value


@functools.lru_cache(maxsize=4)
def _load_store(directory: Path, profile: str) -> _Store:
    """Recordings are read once per test session (the store is never modified)."""
    return _Store(directory, profile)


def _complete(body: Any) -> bool:
    """True when a recording made with the default limit still holds every row."""
    if isinstance(body, list):
        return len(body) < 100
    if isinstance(body, dict):
        return all(_complete(v) for v in body.values() if isinstance(v, list | dict))
    return True


class FakeMatomo:
    """A loopback Matomo. Use as a context manager; ``url`` is its base URL."""

    def __init__(
        self,
        *,
        token: str = TOKEN,
        profile: str = "plugin",
        synthesize: bool = False,
        recordings: Path = RECORDINGS,
        fault_plan: FaultPlan | None = None,
    ) -> None:
        self.token = token
        #: Faults injected at a rate (tests/faults.py), on top of those queued by `fail_next`.
        self.fault_plan = fault_plan
        self.profile = profile
        self.synthesize = synthesize
        self.store = _load_store(recordings, profile)
        self.requests: list[Received] = []
        self.faults: deque[Fault] = deque()
        #: Per API method overrides: params -> (status, body), e.g. a Live emulation.
        self.handlers: dict[str, Callable[[dict[str, str]], tuple[int, Any]]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def __enter__(self) -> FakeMatomo:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                fake._handle(self)

            def do_GET(self) -> None:
                fake._handle(self)

            def log_message(self, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- test helpers -------------------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        body: str = "<html><body><h1>502 Bad Gateway</h1></body></html>",
        *,
        times: int = 1,
        content_type: str = "text/html; charset=utf-8",
        headers: dict[str, str] | None = None,
        api_method: str | None = None,
    ) -> None:
        """Answer the next ``times`` requests (for ``api_method`` if given, alone or in a bulk
        request) with this fault.
        """
        for _ in range(times):
            self.faults.append(Fault(status, body, content_type, headers or {}, api_method))

    def api_requests(self, method: str | None = None) -> list[Received]:
        """Requests received, optionally only those for one API method."""
        return [r for r in self.requests if method is None or r.api_method == method]

    # -- answering ----------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        received = received_from(handler)
        with self._lock:
            self.requests.append(received)
            fault = self._take_fault(received.methods)
        if fault is not None:
            self._send(handler, fault.status, fault.body, fault.content_type, fault.headers)
            return
        injected = self.fault_plan.draw() if self.fault_plan is not None else None
        if injected is not None:
            assert self.fault_plan is not None
            self.fault_plan.serve(injected, handler, lambda: json.dumps(self.answer(received)[1]))
            return
        status, body = self.answer(received)
        self._send(handler, status, json.dumps(body), "application/json; charset=utf-8", {})

    def _take_fault(self, methods: set[str]) -> Fault | None:
        """The next fault for this request: any request, or one that calls its method."""
        for fault in list(self.faults):
            if fault.api_method is None or fault.api_method in methods:
                self.faults.remove(fault)
                return fault
        return None

    @staticmethod
    def _send(
        handler: BaseHTTPRequestHandler,
        status: int,
        body: str,
        content_type: str,
        headers: dict[str, str],
    ) -> None:
        data = body.encode()
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def answer(self, received: Received) -> tuple[int, Any]:
        if received.path not in ("/index.php", "/"):
            return 404, {"error": "not found"}
        if "token_auth" in received.query:
            return 401, {"result": "error", "message": TOKEN_IN_URL}
        if received.form.get("token_auth") != self.token:
            return 401, {"result": "error", "message": AUTH_FAILED}
        params = received.params
        if params.get("method") == "API.getBulkRequest":
            return 200, self._bulk(params)
        return self.answer_call(params)

    def _bulk(self, params: dict[str, str]) -> list[Any]:
        results = []
        for call in self.bulk_calls(params):
            _, body = self.answer_call(call)
            if isinstance(body, dict) and body.get("result") == "error":
                body = {"result": "error", "message": body["message"].replace("&gt;", ">")}
            elif self.fault_plan is not None:
                body = self.fault_plan.sub_answer(body)
            results.append(body)
        return results

    @staticmethod
    def bulk_calls(params: dict[str, str]) -> list[dict[str, str]]:
        """The calls of an ``API.getBulkRequest``, each with the parameters it inherits."""
        inherited = {k: v for k, v in params.items() if not k.startswith("urls[")}
        inherited.pop("method", None)
        inherited.pop("filter_limit", None)  # the outer limit applies to the list
        calls = []
        while (url := params.get(f"urls[{len(calls)}]")) is not None:
            calls.append({**inherited, **{k: v[0] for k, v in parse_qs(url).items()}})
        return calls

    def answer_call(self, params: dict[str, str]) -> tuple[int, Any]:
        method = params.get("method", "")
        if method in self.handlers:
            return self.handlers[method](params)
        return self.answer_recorded(params)

    def answer_recorded(self, params: dict[str, str]) -> tuple[int, Any]:
        """The answer from the recordings alone (a handler can fall back to it)."""
        method = params.get("method", "")
        module = method.split(".")[0]
        if self.profile == "core" and module == "MarketingCampaignsReporting":
            return 200, _error(self.store.plugin_errors["MarketingCampaignsReporting"])
        if module == "UsersFlow" or module not in self.store.modules:
            return 200, _error(
                f"The plugin {module} is not enabled. You can activate the plugin on "
                "Settings &gt; Plugins page in Matomo."
            )
        exact = self._exact(params)
        if exact is not None:
            status, body = exact
            return status, self._format(params, body)
        if _is_multi_date(params) and method in self.store.refused_multi_date:
            return 200, _error(self.store.refused_multi_date[method])
        if _is_multi_site(params) and method in self.store.refused_multi_site:
            return 200, _error(self.store.refused_multi_site[method])
        assembled = self._assemble(method, params)
        if assembled is not None:
            return 200, self._format(params, assembled)
        return 200, _error(f"fake Matomo: no recording answers {sorted(params.items())}")

    def _exact(self, params: dict[str, str]) -> tuple[int, Any] | None:
        """A recording of this very call; a limit of -1 and no limit are the same call when
        the recording holds fewer than 100 rows, and a recording of all rows answers any limit.
        """
        key = self.store.exact_key
        found = self.store.exact.get(key(params))
        if found is not None:
            return found[0], copy.deepcopy(found[2])
        unlimited = {k: v for k, v in params.items() if k not in ("filter_limit", "filter_offset")}
        found = self.store.exact.get(key(unlimited))
        if found is not None and params.get("filter_limit") == "-1" and _complete(found[2]):
            return found[0], copy.deepcopy(found[2])
        found = self.store.exact.get(key({**unlimited, "filter_limit": "-1"}))
        if found is not None and not _is_multi_date(params):
            limit = int(params.get("filter_limit", "100"))
            offset = int(params.get("filter_offset", "0"))
            return found[0], _limit(copy.deepcopy(found[2]), limit, offset)
        return None

    def _assemble(self, method: str, params: dict[str, str]) -> Any | None:
        period = params.get("period", "")
        when = params.get("date", "")
        site = params.get("idSite", "")
        if not period or not when or _is_multi_site(params):
            return None
        store = self.store.periods.get(self.store.slice_key(method, site, period, params))
        if store is None and self.synthesize:
            store = self._template_store(method, period, params)
        if store is None:
            return None
        limit = int(params.get("filter_limit", "100"))
        offset = int(params.get("filter_offset", "0"))
        if period == "range":
            value = store.get(when) if when in store else self._synth(store, when)
            return None if value is None else _limit(copy.deepcopy(value), limit, offset)
        if _is_multi_date(params):
            first, _, last = when.partition(",")
            start, end = _resolve_day(first), _resolve_day(last)
            if start is None or end is None:
                return None
            result = {}
            for key in _period_keys(start, end, period):
                value = store.get(key, None) if key in store else self._synth(store, key)
                if value is None:
                    return None
                result[key] = _limit(copy.deepcopy(value), limit, offset)
            return result
        day = _resolve_day(when)
        if day is None:
            return None
        key = _period_key(day, period)
        value = store.get(key) if key in store else self._synth(store, key)
        return None if value is None else _limit(copy.deepcopy(value), limit, offset)

    def _synth(self, store: dict[str, Any], key: str) -> Any | None:
        if not self.synthesize or not store:
            return None
        return next(iter(store.values()))

    def _template_store(self, method: str, period: str, params: dict[str, str]) -> dict | None:
        """Any recorded period of this report (same parameters), to copy into missing periods."""
        goal = params.get("idGoal", "")
        if goal.isdigit() and goal != "1":
            # Only goal 1 is recorded per goal: other goals copy its periods.
            return self._template_store(method, period, {**params, "idGoal": "1"})
        for candidate in (period, "day", "week", "month", "range", "year"):
            for site in (params.get("idSite", "1"), "1", "2", "3"):
                key = self.store.slice_key(method, site, candidate, params)
                if store := self.store.periods.get(key):
                    return store
        return None

    @staticmethod
    def _format(params: dict[str, str], body: Any) -> Any:
        if params.get("format_metrics") == "0":
            return _ratio_percentages(body)
        return body


def recorded_body(number: str, recordings: Path = RECORDINGS) -> Any:
    """The body of recording ``NNNN`` (e.g. ``"0018"``), as Matomo sent it."""
    (path,) = recordings.glob(f"{number}__*.json")
    return json.loads(path.read_text())["body"]


def _error(message: str) -> dict[str, str]:
    return {"result": "error", "message": message}


def received_from(handler: BaseHTTPRequestHandler) -> Received:
    """The request a handler is serving, its body read."""
    split = urlsplit(handler.path)
    length = int(handler.headers.get("Content-Length") or 0)
    raw_body = handler.rfile.read(length).decode() if length else ""
    return Received(
        http_method=handler.command,
        path=split.path,
        raw_query=split.query,
        query=dict(parse_qsl(split.query, keep_blank_values=True)),
        form=dict(parse_qsl(raw_body, keep_blank_values=True)),
        raw_body=raw_body,
        headers=dict(handler.headers.items()),
    )

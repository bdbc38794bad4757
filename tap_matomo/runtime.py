"""What all streams of one run share: settings, client, sites, per-site lists, fetched answers.

The site list (with each site's timezone) is fetched once per run, with one request, and every
stream reads it from here; so are each site's goals and custom dimensions. Report calls go
through :meth:`MatomoRun.fetch`, which batches them into bulk requests and hands out the answers
that a stream fetched ahead for the partitions and streams that follow it. Streams are created
for discovery without config, so nothing here touches the network or parses settings until a
sync asks for it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal, TypeVar

from singer_sdk.exceptions import ConfigValidationError

from tap_matomo import answers
from tap_matomo.client import ApiCall, MatomoClient
from tap_matomo.concurrency import RequestPool
from tap_matomo.dates import site_timezone
from tap_matomo.errors import MatomoError, MatomoPluginNotActivatedError, MatomoRequestError
from tap_matomo.settings import TapSettings, check_settings

LOGGER = logging.getLogger("tap-matomo")

#: Rows that may be held for partitions after the current one (sent ahead, in flight or
#: answered): answers wait there, as JSON text (``answers.py``), until their streams emit
#: them, so big reports (page URLs...) are read ahead little. Expected rows, from
#: ``streams/sizing.py``. Held as text, 40,000 page URL rows take less memory than 20,000
#: decoded ones did (``bench/throughput.py``: 1,000,000 records peak at about 200 MB).
READ_AHEAD_ROWS = 40_000
#: The per-site list each variant source (``VariantSource.entries``) is read from.
LIST_METHODS = {
    "goals": "Goals.getGoals",
    "custom_dimensions": "CustomDimensions.getConfiguredCustomDimensions",
}
#: Where a partition comes in the sync: (its stream's index, its own index).
Position = tuple[int, int]
Key = tuple[str, tuple[tuple[str, str], ...]]
#: A call to send with what goes with it, its expected rows last.
_Entry = TypeVar("_Entry", tuple[ApiCall, int], tuple[ApiCall, Position, int])


@dataclass
class _Held:
    """An answer sent for ahead: the request (maybe still in flight) and its place in it."""

    future: Future[list[Any | MatomoError]]
    index: int
    #: The partition it is for (see :meth:`MatomoRun.forget_before`).
    position: Position
    #: Rows expected, then (once answered) counted: against `READ_AHEAD_ROWS` until taken.
    rows: int
    counted: bool = False

    def count(self) -> int:
        """Rows it holds: counted once the answer is in, expected until then."""
        if not self.counted and self.future.done() and self.future.exception() is None:
            self.rows = answers.row_total(self.future.result()[self.index])
            self.counted = True
        return self.rows


@dataclass(frozen=True)
class Site:
    """One Matomo site as the tap needs it."""

    site_id: int
    timezone: str
    raw: dict[str, Any]


class MatomoRun:
    """Shared state of one tap run."""

    def __init__(self, config: dict[str, Any]) -> None:
        self._config = config
        self.missing_plugins: set[str] = set()
        #: Answers fetched ahead (see :meth:`prefetch`), by call, until :meth:`fetch` takes them.
        self._ahead: dict[Key, _Held] = {}
        #: Of those, the ones whose rows are still expected (in flight, or not looked at since
        #: they arrived), and the rows of the others (see :meth:`held_rows`).
        self._uncounted: dict[Key, _Held] = {}
        self._counted_rows = 0
        #: The most rows one period of each method has answered in this run.
        self._rows_per_period: dict[str, int] = {}
        #: How many times a method's most rows per period grew: plans cut from them are only
        #: worth checking again when it has (see ``ReportStream._partition_plan``).
        self.learned = 0
        #: Rows and periods answered by each method in this run (their ratio: the mean).
        self._rows_seen: dict[str, tuple[int, int]] = {}
        self._learning = threading.Lock()
        #: Per-site lists read once per run (see :meth:`_site_lists`), by method.
        self._lists: dict[str, dict[int, Any | MatomoError]] = {}
        #: Lists sent for ahead (see :meth:`read_lists_ahead`): their request and its calls.
        self._lists_ahead: dict[str, tuple[Future[list[Any | MatomoError]], list[ApiCall]]] = {}
        #: True once :meth:`read_lists_ahead` was asked (the streams ask it at each partition).
        self.lists_read_ahead = False

    @cached_property
    def settings(self) -> TapSettings:
        """The checked settings (raises ConfigValidationError when they are not usable)."""
        settings, errors = check_settings(dict(self._config))
        if settings is None:
            raise ConfigValidationError("Config validation failed", errors=errors)
        return settings

    @cached_property
    def client(self) -> MatomoClient:
        """The one client of this run (one HTTP session, one request counter)."""
        http = self.settings.http
        return MatomoClient(
            url=self.settings.url,
            token_auth=self.settings.token_auth,
            timeout=http.timeout,
            verify_ssl=http.verify_ssl,
            user_agent=http.user_agent,
            max_tries=http.max_tries,
            retry_wait_seconds=http.retry_wait_seconds,
            on_retry=lambda exc: self.pool.lower(str(exc).rstrip(".")),
        )

    @property
    def request_count(self) -> int:
        """HTTP requests sent so far in this run (none before the client exists)."""
        return self.client.request_count if "client" in self.__dict__ else 0

    @cached_property
    def pool(self) -> RequestPool:
        """Where bulk requests sent ahead run: up to `max_concurrent_requests` at once."""
        return RequestPool(self.settings.max_concurrent_requests)

    @cached_property
    def sites(self) -> list[Site]:
        """The configured sites (or every viewable one), fetched with one request."""
        answer = self.client.call(
            ApiCall("SitesManager.getSitesWithAtLeastViewAccess", {"filter_limit": "-1"})
        )
        if not isinstance(answer, list):
            raise MatomoRequestError(
                f"expected a list of sites, got {type(answer).__name__}",
                method="SitesManager.getSitesWithAtLeastViewAccess",
            )
        viewable = {_site_id(raw): raw for raw in answer}
        wanted = self.settings.site_ids
        if wanted is None:
            if not viewable:
                raise MatomoError(
                    "the token can view no site. Check `token_auth` (a public Matomo needs "
                    "`anonymous` with anonymous view access) or set `site_ids`."
                )
            ids: Sequence[int] = sorted(viewable)
        else:
            missing = [site_id for site_id in wanted if site_id not in viewable]
            if missing and not viewable:
                # Matomo 4 answers an unknown token as `anonymous`: HTTP 200 and no site. Not
                # retried: each such request counts as a failed login towards Matomo's lockout.
                raise MatomoError(
                    "`token_auth`: the token can view no site at all, so it is most likely "
                    "wrong or expired (Matomo 4 answers an unknown token as anonymous, with no "
                    f"site; site(s) {', '.join(map(str, missing))} were asked for). Check "
                    "`token_auth` (a token of a user with view access to `site_ids`), then "
                    "`site_ids`."
                )
            if missing:
                raise MatomoError(
                    f"`site_ids`: site(s) {', '.join(map(str, missing))} do not exist or the "
                    f"token cannot view them (it can view: "
                    f"{', '.join(map(str, sorted(viewable))) or 'none'})."
                )
            ids = wanted
        ids = self._shard_of(ids)
        return [
            Site(site_id=i, timezone=_site_timezone(i, viewable[i]), raw=viewable[i]) for i in ids
        ]

    def _shard_of(self, ids: Sequence[int]) -> Sequence[int]:
        """The sites of this run's shard (`shard_count`/`shard_index`), or all of them."""
        shard = self.settings.shard
        if shard is None:
            return ids
        kept = [site_id for site_id in ids if shard.keeps(site_id)]
        LOGGER.info(
            "Shard %d of %d (site id modulo %d = %d) keeps site(s): %s.",
            shard.index,
            shard.count,
            shard.count,
            shard.index,
            ", ".join(map(str, kept)) or "none",
        )
        return kept

    def site(self, site_id: int) -> Site:
        """One configured site by id."""
        site = self._sites_by_id.get(site_id)
        if site is None:
            msg = f"site {site_id} is not among the configured sites"
            raise KeyError(msg)
        return site

    @cached_property
    def _sites_by_id(self) -> dict[int, Site]:
        return {site.site_id: site for site in self.sites}

    def goals(self, site_id: int) -> list[dict[str, Any]]:
        """The goals a site defines (``Goals.getGoals``), in goal id order.

        The `goals` stream and the per-goal reports read them here: fetched once per run, for
        every configured site in bulk, whichever stream asks first.
        """
        answer = self._site_lists(LIST_METHODS["goals"])[site_id]
        if isinstance(answer, MatomoError):
            raise answer
        return _entries(answer, site_id, "Goals.getGoals", "idgoal", "goal")

    def custom_dimensions(
        self, site_id: int, stream_name: str = "custom_dimensions"
    ) -> list[dict[str, Any]]:
        """The site's active custom dimensions, in id order (none without the plugin).

        Read once per run, for every configured site in bulk. A server without
        the CustomDimensions plugin has no dimensions: one warning (`plugin_missing`).
        """
        method = LIST_METHODS["custom_dimensions"]
        answer = self._site_lists(method)[site_id]
        if isinstance(answer, MatomoPluginNotActivatedError):
            self.plugin_missing(answer, stream_name)
            return []
        if isinstance(answer, MatomoError):
            raise answer
        return _entries(
            answer,
            site_id,
            method,
            "idcustomdimension",
            "custom dimension",
            keep=lambda dimension: _is_active(dimension.get("active")),
        )

    def _site_lists(self, method: str) -> dict[int, Any | MatomoError]:
        """One list call (goals, custom dimensions) per configured site, answers by site.

        All sites go in one bulk request, the first time a run asks for the method (unless
        :meth:`read_lists_ahead` sent it already).
        """
        if method in self._lists_ahead:
            future, calls = self._lists_ahead.pop(method)
            for call, answer in zip(calls, future.result(), strict=True):
                if call.method == method:
                    self._lists.setdefault(method, {})[int(call.params["idSite"])] = answer
        if method not in self._lists:
            calls = [self._list_call(method, site) for site in self.sites]
            answers = {int(call.params["idSite"]): answer for call, answer in self.fetch(calls)}
            self._lists[method] = answers
        return self._lists[method]

    def read_lists_ahead(self, sources: Iterable[Literal["goals", "custom_dimensions"]]) -> None:
        """Send the per-site lists that streams will read (goals...) in one bulk request now.

        Reports read per goal or custom dimension are planned from these lists: sent at the
        start, with requests side by side they arrive while the first streams are synced, and
        one at a time the lists of every source share one request.
        """
        self.lists_read_ahead = True
        methods = [
            LIST_METHODS[source]
            for source in dict.fromkeys(sources)
            if LIST_METHODS[source] not in self._lists
            and LIST_METHODS[source] not in self._lists_ahead
        ]
        if not methods:
            return
        calls = [self._list_call(method, site) for method in methods for site in self.sites]
        future = self.pool.submit(lambda: self._request(calls))
        for method in methods:
            self._lists_ahead[method] = (future, calls)

    def lists_pending(self, source: Literal["goals", "custom_dimensions"]) -> bool:
        """True while the request of a list sent for ahead is still on its way."""
        ahead = self._lists_ahead.get(LIST_METHODS[source])
        return ahead is not None and not ahead[0].done()

    @staticmethod
    def _list_call(method: str, site: Site) -> ApiCall:
        # lists are cut at 100 entries too, without filter_limit=-1
        return ApiCall(method, {"idSite": str(site.site_id), "filter_limit": "-1"})

    def report_metadata(self) -> dict[int, Any | MatomoError]:
        """Each configured site's ``API.getReportMetadata`` (the reports it offers), by site.

        Read once per run, every site in one bulk request; only live discovery asks for it.
        """
        return self._site_lists("API.getReportMetadata")

    def variant_entries(
        self, source: Literal["goals", "custom_dimensions"], site_id: int, stream_name: str
    ) -> list[dict[str, Any]]:
        """The per-site list a report is read for (``ReportSpec.variants_of``)."""
        if source == "goals":
            return self.goals(site_id)
        return self.custom_dimensions(site_id, stream_name)

    def rows_per_period(self, method: str) -> int | None:
        """The most rows one period of the method has answered in this run (None: not seen)."""
        return self._rows_per_period.get(method)

    def mean_rows_per_period(self, method: str) -> float | None:
        """Rows one period of the method has answered on average in this run (None: not seen)."""
        seen = self._rows_seen.get(method)
        return seen[0] / max(1, seen[1]) if seen else None

    def is_fetched(self, call: ApiCall) -> bool:
        """True when the call was sent ahead (answered or in flight) and waits for :meth:`fetch`."""
        return call.key in self._ahead

    def held_rows(self, besides: Sequence[ApiCall] = ()) -> int:
        """Rows of the answers sent ahead and not taken yet (but ``besides``).

        Those of answers that arrived are counted, the others expected.
        """
        # answers that arrived since the last look are counted once, then kept in a total:
        # this is asked at every partition, of up to a few hundred answers held
        for key, held in list(self._uncounted.items()):
            held.count()
            if held.counted:
                del self._uncounted[key]
                self._counted_rows += held.rows
        total = self._counted_rows + sum(held.rows for held in self._uncounted.values())
        for key in {call.key for call in besides}:
            held = self._ahead.get(key)
            if held is not None:
                total -= held.rows
        return total

    def forget_before(self, position: Position) -> None:
        """Drop answers sent ahead for partitions synced before ``position``.

        They were read ahead for a plan that changed (a report Matomo cannot flatten) or for a
        stream skipped since (a missing plugin); nothing will take them.
        """
        for key in [k for k, held in self._ahead.items() if held.position < position]:
            self._let_go(key)

    def prefetch(self, calls: Sequence[tuple[ApiCall, Position, int]]) -> None:
        """Send calls ahead in bulk requests (e.g. the next sites' and streams') for :meth:`fetch`.

        ``calls`` are (call, position of its partition, expected rows). Streams ask each
        partition's calls in turn; sending the calls of the next partitions and streams in the
        same bulk request makes the request count follow the number of calls, not the number of
        sites and reports. Each request holds at most `bulk_request_size` calls; with
        `max_concurrent_requests` above 1 they run side by side, in the background.
        """
        new: dict[Key, tuple[ApiCall, Position, int]] = {}
        for call, position, rows in calls:
            key = call.key
            if key not in self._ahead:
                new.setdefault(key, (call, position, rows))
        # side by side, a request holds about its share of READ_AHEAD_ROWS: the first answers
        # arrive (and their records are written) while the next ones are read, rather than all
        # together at the end of one long request
        most = READ_AHEAD_ROWS if self.pool.inline else READ_AHEAD_ROWS // (self.pool.limit + 1)
        size = self.settings.bulk_request_size
        for group in _in_requests(list(new.values()), size, most):
            batch = [call for call, _, _ in group]
            future = self.pool.submit(lambda batch=batch: self._request(batch, held=True))
            for index, (call, position, rows) in enumerate(group):
                held = self._ahead[call.key] = _Held(future, index, position, rows)
                self._uncounted[call.key] = held

    def fetch(
        self, calls: Sequence[ApiCall], rows: Sequence[int] | None = None
    ) -> Iterator[tuple[ApiCall, Any | MatomoError]]:
        """Answer calls in order, batching them into bulk requests of the configured size.

        An answer fetched ahead is used once, then forgotten. Calls not fetched ahead are
        sent as they are needed, in requests of at most `bulk_request_size` calls and about
        `READ_AHEAD_ROWS` expected ``rows``. The run learns from every answer how many rows
        a period of its method has (see :meth:`rows_per_period`).
        """
        expected = list(rows) if rows is not None else [0] * len(calls)
        pending: list[tuple[ApiCall, int]] = []
        for call, call_rows in zip(calls, expected, strict=True):
            held = self._let_go(call.key)
            if held is None:
                pending.append((call, call_rows))
                continue
            yield from self._send(pending)
            pending = []
            results = held.future.result()  # raises what the request raised
            answer, results[held.index] = results[held.index], None  # held no longer
            yield call, self._take(call, answer)
            del answer, results  # not held here while the next answer is fetched
        yield from self._send(pending)

    def _take(self, call: ApiCall, answer: Any) -> Any:
        """The answer's value, decoded now if it was held as text (``answers.py``).

        One that cannot be decoded is asked for again and decoded at once, so that it is a
        malformed answer as any other: retried, then named.
        """
        try:
            return answers.taken(answer)
        except answers.Unreadable:
            return self._request([call])[0]

    def _let_go(self, key: Key) -> _Held | None:
        """Take an answer sent for ahead out of those held (None: it was not)."""
        held = self._ahead.pop(key, None)
        if held is not None and self._uncounted.pop(key, None) is None:
            self._counted_rows -= held.rows
        return held

    def _send(
        self, calls: Sequence[tuple[ApiCall, int]]
    ) -> Iterator[tuple[ApiCall, Any | MatomoError]]:
        """Send calls now, a request at a time; an answer is let go once handed out."""
        for group in _in_requests(calls, self.settings.bulk_request_size, READ_AHEAD_ROWS):
            results = self._request([call for call, _ in group], held=True)
            for position, (sent, _) in enumerate(group):
                answer, results[position] = results[position], None
                yield sent, self._take(sent, answer)
                del answer  # not held here while the next answer is fetched

    def _request(self, calls: Sequence[ApiCall], *, held: bool = False) -> list[Any | MatomoError]:
        """One HTTP request for the calls: a bulk request, or a plain call for one call.

        The run learns from every answer how many rows a period of its method has (see
        :meth:`rows_per_period`), as soon as it arrives. ``held``: answers for :meth:`fetch`,
        held as text until taken (``answers.py``).
        """
        if len(calls) > 1:
            results = self.client.bulk(calls, held=held)
        else:
            try:
                results = [self.client.call(calls[0], held=held)]
            except MatomoError as exc:
                results = [exc]
        seen = [
            (
                call.method,
                answers.period_rows(answer),
                answers.row_total(answer),
                answers.periods(answer),
            )
            for call, answer in zip(calls, results, strict=True)
        ]
        with self._learning:
            for method, rows, total, periods in seen:
                if rows > self._rows_per_period.get(method, 0):
                    self._rows_per_period[method] = rows
                    self.learned += 1
                if periods:
                    before = self._rows_seen.get(method, (0, 0))
                    self._rows_seen[method] = (before[0] + total, before[1] + periods)
        return results

    def plugin_missing(self, exc: MatomoPluginNotActivatedError, stream_name: str) -> None:
        """Skip streams of a missing plugin with one warning, or fail when asked to."""
        if self.settings.fail_on_missing_plugin:
            raise MatomoError(
                f"stream '{stream_name}' needs the Matomo plugin {exc.plugin}, which is not "
                "activated on this server. Activate it in Matomo (Administration > Plugins), "
                "deselect the stream, or set `fail_on_missing_plugin` to false to skip it."
            ) from exc
        if exc.plugin not in self.missing_plugins:
            LOGGER.warning(
                "The Matomo plugin %s is not activated on this server: skipping its streams "
                "(first: '%s'). Activate it in Matomo, or deselect those streams.",
                exc.plugin,
                stream_name,
            )
        self.missing_plugins.add(exc.plugin)


def _site_id(raw: Any) -> int:
    """A site's ``idsite``; an entry without a usable one is an error that names it."""
    method = "SitesManager.getSitesWithAtLeastViewAccess"
    if not isinstance(raw, dict):
        shown = repr(raw)[:80]
        raise MatomoRequestError(f"expected sites, got the entry {shown}", method=method)
    value = raw.get("idsite")
    if not _is_id(value):
        raise MatomoRequestError(
            f"a site without a usable `idsite` in the answer (idsite: {value!r}, "
            f"site name: {raw.get('name')!r})",
            method=method,
        )
    return int(value)


def _site_timezone(site_id: int, raw: dict[str, Any]) -> str:
    """The site's timezone, checked now so that no stream fails on it halfway through a run."""
    name = str(raw.get("timezone") or "UTC")
    try:
        site_timezone(name)
    except ValueError:
        raise MatomoRequestError(
            f"site {site_id} has the timezone {name!r}, which the tap does not know. "
            "Set an Olson timezone (e.g. Europe/Paris) or a UTC offset for the site in Matomo "
            "(Administration > Websites > Manage), or list the other sites in `site_ids`.",
            method="SitesManager.getSitesWithAtLeastViewAccess",
        ) from None
    return name


def _is_id(value: Any) -> bool:
    """True for a Matomo id: a non-negative integer, or its decimal text."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value >= 0
    return isinstance(value, str) and value.strip().isascii() and value.strip().isdigit()


def _entries(
    answer: Any,
    site_id: int,
    method: str,
    id_key: str,
    what: str,
    keep: Callable[[dict[str, Any]], bool] = lambda entry: True,
) -> list[dict[str, Any]]:
    """The entries of a per-site list (goals, custom dimensions) that ``keep`` accepts.

    In id order; every one has an integer id, since the reports' variants are read by it.
    """
    found = list(answer.values()) if isinstance(answer, dict) else answer  # limit -1: dict
    if not isinstance(found, list):
        raise MatomoRequestError(
            f"site {site_id}: expected a list of {what}s, got {type(answer).__name__}",
            method=method,
        )
    entries = [entry for entry in found if isinstance(entry, dict) and keep(entry)]
    for entry in entries:
        if not _is_id(entry.get(id_key)):
            raise MatomoRequestError(
                f"site {site_id}: a {what} has no usable `{id_key}` (got "
                f"{entry.get(id_key)!r}, name: {entry.get('name')!r})",
                method=method,
            )
    return sorted(entries, key=lambda entry: int(entry[id_key]))


def _is_active(value: Any) -> bool:
    """Matomo's ``active`` flag: ``true`` in JSON (``"1"`` from older servers)."""
    return str(value).lower() in ("1", "true")


def _in_requests(entries: Sequence[_Entry], size: int, most: int) -> Iterator[list[_Entry]]:
    """Entries ``(call, ..., expected rows)`` in order, cut into requests.

    At most ``size`` calls and about ``most`` rows a request (a call with more goes alone).
    """
    group: list[_Entry] = []
    group_rows = 0
    for entry in entries:
        if group and (len(group) == size or group_rows + entry[-1] > most):
            yield group
            group, group_rows = [], 0
        group.append(entry)
        group_rows += entry[-1]
    if group:
        yield group

"""HAND-BUILT answers for the catalog's reports that no recording holds (issue 10).

Nothing here was sent by a Matomo server. The recordings answer ``UserLanguage.getLanguage``,
``Resolution.getResolution``, ``VisitorInterest.getNumberOfVisitsPerVisitDuration``,
``UserId.getUsers``, ``API.get`` and ``MultiSites.getAll``, not their siblings; :func:`install`
makes the fake answer the siblings by transforming a recorded answer of the same site, period
and dates, period by period, the way Matomo's source (``plugins/<Plugin>/API.php``) builds them:

- ``Actions.getPage{Urls,Titles}FollowingSiteSearch``: exactly Matomo's
  ``keepPagesFollowingSearch``: the pages report without the top-level rows whose
  ``nb_hits_following_search`` is not above 0. The filter is not recursive, so a flattened answer
  keeps every page below a kept top-level folder (the folder is the first path segment).
- ``Referrers.get`` and ``PagePerformance.get``: the ``Referrers_*`` and ``PagePerformance_*`` /
  ``avg_*`` keys of the recorded ``API.get`` (0580), which merges those reports' answers.
- ``MultiSites.getOne``: the site's row of ``MultiSites.getAll`` (0457) without the label and
  row metadata (``getOne`` deletes the label and returns one row, rendered as an object), its
  evolution ratios unformatted as ``format_metrics=0`` asks; ``enhanced=1`` adds
  ``nb_conversions`` (``Goals.get``), ``orders`` and ``ecommerce_revenue`` (``Goals.get`` with
  ``idGoal=ecommerceOrder``) where those are recorded.

Only the shape of these is Matomo's; their values are other reports' values:

- ``UserLanguage.getLanguageCode``: the language rows, labelled ``English (en)`` with the first
  language code of the row's segment (``languageCode==en``).
- ``Resolution.getConfiguration``: the resolution rows, labelled like Matomo's
  ``getConfigurationLabel`` (``Windows / Chrome / 1920x1080``), without segment.
- ``DevicePlugins.getPlugin``: one row per plugin Matomo detects; the visits of the period
  (``VisitsSummary.get``) have cookies and PDF, none the others.
- ``VisitorInterest.getNumberOfVisitsPerPage``, ``...ByVisitCount``, ``...ByDaysSinceLast``:
  Matomo's buckets of each report (its ``Archiver`` gaps) with the visit counts of the visit
  length buckets in order, 0 past the tenth.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from tests.fake_matomo import FakeMatomo, _is_multi_date, _period_keys, _resolve_day

Answer = tuple[int, Any]
Handler = Callable[[dict[str, str]], Answer]
Rows = list[dict[str, Any]]

#: ``API.get`` (0580) holds these reports' keys.
FROM_MAIN_METRICS = {
    "Referrers.get": lambda key: key.startswith("Referrers_"),
    "PagePerformance.get": lambda key: (
        key.startswith("PagePerformance_") or key in PAGE_PERFORMANCE_AVERAGES
    ),
}
PAGE_PERFORMANCE_AVERAGES = frozenset(
    {
        "avg_time_network",
        "avg_time_server",
        "avg_time_transfer",
        "avg_time_dom_processing",
        "avg_time_dom_completion",
        "avg_time_on_load",
        "avg_page_load_time",
    }
)

#: Matomo's VisitorInterest buckets (plugins/VisitorInterest/Archiver.php), as labelled.
BUCKETS = {
    "VisitorInterest.getNumberOfVisitsPerPage": (
        *(f"{n} page{'s' if n > 1 else ''}" for n in range(1, 6)),
        "6-7 pages",
        "8-10 pages",
        "11-14 pages",
        "15-20 pages",
        "20+ pages",
    ),
    "VisitorInterest.getNumberOfVisitsByVisitCount": (
        *(f"{n} visit{'s' if n > 1 else ''}" for n in range(1, 9)),
        "9-14 visits",
        "15-25 visits",
        "26-50 visits",
        "51-100 visits",
        "101-200 visits",
        "200+ visits",
    ),
    "VisitorInterest.getNumberOfVisitsByDaysSinceLast": (
        *(f"{n} day{'s' if n != 1 else ''}" for n in range(8)),
        "8-14 days",
        "15-30 days",
        "31-60 days",
        "61-120 days",
        "121-364 days",
        "364+ days",
    ),
}
DURATIONS = "VisitorInterest.getNumberOfVisitsPerVisitDuration"

#: DevicePlugins' plugins (plugins/DevicePlugins/Columns/Plugin*.php), in Matomo's order.
PLUGINS = ("Cookie", "Flash", "Java", "PDF", "QuickTime", "RealPlayer", "Silverlight", "WMA")
WITH_PLUGIN = frozenset({"Cookie", "PDF"})


def install(fake: FakeMatomo) -> None:
    """Answer the unrecorded catalog methods (see the module docstring)."""
    for dimension in ("Urls", "Titles"):
        method = f"Actions.getPage{dimension}FollowingSiteSearch"
        fake.handlers[method] = _following_search(fake, f"Actions.getPage{dimension}")
    for method, keep in FROM_MAIN_METRICS.items():
        fake.handlers[method] = _from_main_metrics(fake, keep)
    fake.handlers["MultiSites.getOne"] = _dashboard_row(fake)
    fake.handlers["UserLanguage.getLanguageCode"] = _sibling(
        fake, "UserLanguage.getLanguage", lambda rows: [language_code_row(r) for r in rows]
    )
    fake.handlers["Resolution.getConfiguration"] = _sibling(
        fake, "Resolution.getResolution", lambda rows: [configuration_row(r) for r in rows]
    )
    fake.handlers["DevicePlugins.getPlugin"] = _sibling(fake, "VisitsSummary.get", plugin_rows)
    for method, labels in BUCKETS.items():
        fake.handlers[method] = _sibling(
            fake, DURATIONS, lambda rows, labels=labels: bucket_rows(rows, labels)
        )


# -- answering from a sibling call ------------------------------------------------------------


def map_periods(params: Mapping[str, str], body: Any, value: Callable[[Any], Any]) -> Any:
    """Apply ``value`` to each period of an answer (keyed by period when multi-date)."""
    if _is_error(body):
        return body
    if _is_multi_date(dict(params)) and isinstance(body, dict):
        return {key: value(period) for key, period in body.items()}
    return value(body)


def _sibling(fake: FakeMatomo, method: str, rows: Callable[[Any], Rows]) -> Handler:
    """The answer of ``method`` for the same call, each period's value through ``rows``."""

    def answer(params: dict[str, str]) -> Answer:
        status, body = fake.answer_recorded({**params, "method": method})
        return status, map_periods(params, body, rows)

    return answer


def language_code_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A language row as a language code row (``English`` -> ``English (en)``)."""
    segment = str(row.get("segment", ""))
    code = segment.removeprefix("languageCode==").split(",")[0]
    return {**row, "label": f"{row['label']} ({code})", "segment": f"languageCode=={code}"}


def configuration_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A resolution row as a configuration row (no segment: Matomo adds none there)."""
    kept = {key: value for key, value in row.items() if key != "segment"}
    return {**kept, "label": f"Windows / Chrome / {row['label']}"}


def plugin_rows(summary: Any) -> Rows:
    """One row per plugin for a period's ``VisitsSummary.get`` object (none without visits)."""
    if not isinstance(summary, dict) or not summary:
        return []
    visits = int(summary.get("nb_visits") or 0)
    rows = []
    for plugin in PLUGINS:
        count = visits if plugin in WITH_PLUGIN else 0
        rows.append(
            {
                "label": plugin,
                "nb_visits": count,
                "nb_visits_percentage": round(count / visits, 4) if visits else 0,
            }
        )
    return rows


def bucket_rows(durations: Any, labels: tuple[str, ...]) -> Rows:
    """A report's buckets with the visit counts of the visit length buckets, in order."""
    if not isinstance(durations, list) or not durations:
        return []
    counts = [row.get("nb_visits", 0) for row in durations]
    return [
        {"label": label, "nb_visits": counts[index] if index < len(counts) else 0}
        for index, label in enumerate(labels)
    ]


def _following_search(fake: FakeMatomo, pages_method: str) -> Handler:
    """Matomo's ``keepPagesFollowingSearch`` over the pages report of the same call."""

    def answer(params: dict[str, str]) -> Answer:
        status, body = fake.answer_recorded({**params, "method": pages_method})
        if params.get("flat") != "1":
            return status, map_periods(params, body, kept_top_rows)
        top_params = {key: value for key, value in params.items() if key != "flat"}
        _, top = fake.answer_recorded({**top_params, "method": pages_method})
        if _is_multi_date(params) and isinstance(body, dict) and isinstance(top, dict):
            return status, {
                key: kept_flat_rows(period, top.get(key, [])) for key, period in body.items()
            }
        return status, map_periods(params, body, lambda rows: kept_flat_rows(rows, top))

    return answer


def _clicked(row: Mapping[str, Any]) -> bool:
    value = row.get("nb_hits_following_search")
    return isinstance(value, int | float | str) and float(value or 0) > 0


def kept_top_rows(rows: Any) -> Any:
    """The top-level rows Matomo keeps: clicked from search results."""
    if not isinstance(rows, list):
        return rows
    return [row for row in rows if _clicked(row)]


def top_label(flat_label: str) -> str:
    """The top-level row of a flattened page URL (``/products/x`` -> ``products``)."""
    path = flat_label.lstrip("/")
    folder, slash, _ = path.partition("/")
    return folder if slash else flat_label


def kept_flat_rows(rows: Any, top: Any) -> Any:
    """Flattened rows under a kept top-level row (titles are all top-level)."""
    if not isinstance(rows, list) or not isinstance(top, list):
        return rows
    kept = {str(row["label"]).strip() for row in top if _clicked(row)}
    return [row for row in rows if _under_kept(str(row["label"]).strip(), kept)]


def _under_kept(label: str, kept: set[str]) -> bool:
    """A flattened row under a kept top-level row: its folder, or itself (a root page, a
    title: flattened titles lose their leading space; the root page ``/`` is ``/index``)."""
    return top_label(label) in kept or label in kept or (label == "/" and "/index" in kept)


def _from_main_metrics(fake: FakeMatomo, keep: Callable[[str], bool]) -> Handler:
    """A ``*.get`` report as the part of the site's ``API.get`` answer it makes."""
    return _sibling(
        fake,
        "API.get",
        lambda metrics: (
            {key: value for key, value in metrics.items() if keep(key)}
            if isinstance(metrics, dict)
            else metrics
        ),
    )


# -- MultiSites.getOne ------------------------------------------------------------------------

_DASHBOARD_METADATA = frozenset({"label", "idsite", "group", "main_url"})
_PERCENT = re.compile(r"^-?[\d,]+(\.\d+)?%$")


def dashboard_row(row: Mapping[str, Any], format_metrics: str | None) -> dict[str, Any]:
    """A site's ``MultiSites.getAll`` row as ``getOne`` answers it (an object, no label)."""
    shaped = {key: value for key, value in row.items() if key not in _DASHBOARD_METADATA}
    if format_metrics == "0":
        for key, value in shaped.items():
            if isinstance(value, str) and _PERCENT.match(value):
                shaped[key] = round(float(value[:-1].replace(",", "")) / 100, 4)
    return shaped


def _dashboard_row(fake: FakeMatomo) -> Handler:
    def answer(params: dict[str, str]) -> Answer:
        site = params.get("idSite", "")
        everyone = {k: v for k, v in params.items() if k not in ("idSite", "enhanced")}
        status, body = fake.answer_recorded({**everyone, "method": "MultiSites.getAll"})
        if _is_error(body) and fake.synthesize:
            body = _synthesized_dashboard(fake, everyone)

        def one(rows: Any) -> Any:
            if not isinstance(rows, list):
                return rows
            mine = [row for row in rows if str(row.get("idsite")) == site]
            return dashboard_row(mine[0], params.get("format_metrics")) if mine else []

        shaped = map_periods(params, body, one)
        if params.get("enhanced") == "1":
            shaped = _enhance(fake, params, shaped)
        return status, shaped

    return answer


def _is_error(body: Any) -> bool:
    return isinstance(body, dict) and body.get("result") == "error"


def _synthesized_dashboard(fake: FakeMatomo, params: dict[str, str]) -> Any:
    """The recorded month (0457) for every period asked (``synthesize``: benchmarks, suites)."""
    month = {**params, "method": "MultiSites.getAll", "period": "month", "date": "2026-10-01"}
    _, rows = fake.answer_recorded(month)
    if not _is_multi_date(params):
        return rows
    first, _, last = params["date"].partition(",")
    start, end = _resolve_day(first), _resolve_day(last)
    if start is None or end is None:
        return rows
    return {key: rows for key in _period_keys(start, end, params["period"])}


def _enhance(fake: FakeMatomo, params: dict[str, str], body: Any) -> Any:
    """Add ``enhanced=1``'s conversions, orders and product revenue (from ``Goals.get``)."""
    plain = {k: v for k, v in params.items() if k != "enhanced"}
    _, goals = fake.answer_recorded({**plain, "method": "Goals.get"})
    _, orders = fake.answer_recorded({**plain, "method": "Goals.get", "idGoal": "ecommerceOrder"})
    if any(_is_error(b) for b in (body, goals, orders)):
        return body
    if not _is_multi_date(params):
        return _with_goals(body, goals, orders)
    return {key: _with_goals(row, goals.get(key), orders.get(key)) for key, row in body.items()}


def _with_goals(row: Any, goals: Any, orders: Any) -> Any:
    if not isinstance(row, dict) or not row:
        return row
    goals = goals if isinstance(goals, dict) else {}
    orders = orders if isinstance(orders, dict) else {}
    return {
        **row,
        "nb_conversions": goals.get("nb_conversions", 0),
        "orders": orders.get("nb_conversions", 0),
        "ecommerce_revenue": orders.get("revenue", 0),
    }

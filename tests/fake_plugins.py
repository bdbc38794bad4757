"""FAKE plugin reports for the loopback Matomo: invented reports, metadata and answers.

Nothing here was sent by a Matomo server. :func:`install` makes the fake list five reports of
plugins the recorded server lacks in its ``API.getReportMetadata`` answers, shaped like the
recorded entries (0730), and answer their calls the way Matomo answers reports: a list of rows
(or one object of metrics) per period, keyed by period for ``date=A,B``, numbers partly as
strings, level keys on the rows of a hierarchical report asked with ``flat=1`` (as
``Referrers.getKeywords`` does):

- ``MediaAnalytics.getVideoTitles``: a flat table;
- ``MediaAnalytics.getGroupedVideoResources``: hierarchical (domain, then resource URL);
- ``MediaAnalytics.get``: one row of metrics per period;
- ``CustomReports.getCustomReport`` with ``idCustomReport=3``: a fixed parameter, every site;
- ``CustomReports.getCustomReport`` with ``idCustomReport=5``: listed for site 2 only.

Sites other than 1 have no recorded metadata of their own: they get the ``idSite=all`` one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from tests.fake_matomo import FakeMatomo, _is_multi_date, _period_keys, _resolve_day

Row = dict[str, Any]

_MEDIA_METRICS = {
    "metrics": {
        "nb_plays": "Plays",
        "nb_impressions": "Impressions",
        "sum_total_time_watched": "Time watched",
    },
    "processedMetrics": {"play_rate": "Play rate", "avg_time_watched": "Avg. time watched"},
    "metricTypes": {
        "nb_plays": "number",
        "nb_impressions": "number",
        "sum_total_time_watched": "duration_s",
        "play_rate": "percent",
        "avg_time_watched": "duration_s",
    },
}


def _meta(module: str, action: str, **fields: Any) -> dict[str, Any]:
    unique = f"{module}_{action}"
    if fields.get("parameters"):
        unique += "".join(f"_{k}--{v}" for k, v in fields["parameters"].items())
    return {"category": "Plugins", "module": module, "action": action, **fields, "uniqueId": unique}


#: The metadata entries, with the sites that list them.
REPORTS: list[tuple[dict[str, Any], tuple[int, ...]]] = [
    (
        _meta("MediaAnalytics", "getVideoTitles", name="Video titles", dimension="Video title")
        | _MEDIA_METRICS,
        (1, 2, 3),
    ),
    (
        _meta(
            "MediaAnalytics",
            "getGroupedVideoResources",
            name="Video resources",
            dimension="Resource",
            dimensions={
                "MediaAnalytics_ResourceDomain": "Domain",
                "MediaAnalytics_ResourceUrl": "Resource URL",
            },
            actionToLoadSubTables="getGroupedVideoResources",
        )
        | _MEDIA_METRICS,
        (1, 2, 3),
    ),
    (_meta("MediaAnalytics", "get", name="Media overview") | _MEDIA_METRICS, (1, 2, 3)),
    (
        _meta(
            "CustomReports",
            "getCustomReport",
            name="Revenue per product category",
            parameters={"idCustomReport": 3},
            dimension="Product category",
            metrics={"nb_visits": "Visits", "sum_product_revenue": "Product revenue"},
            processedMetrics={"avg_product_revenue": "Avg. product revenue"},
            metricTypes={
                "nb_visits": "number",
                "sum_product_revenue": "money",
                "avg_product_revenue": "money",
            },
        ),
        (1, 2, 3),
    ),
    (
        _meta(
            "CustomReports",
            "getCustomReport",
            name="Page views per author",
            parameters={"idCustomReport": 5},
            dimension="Author",
            metrics={"nb_pageviews": "Pageviews"},
            metricTypes={"nb_pageviews": "number"},
        ),
        (2,),
    ),
]


def _seed(site: int, start: date) -> int:
    return site * 100 + start.toordinal() % 50


def _media_row(label: str, plays: int) -> Row:
    """Counts as strings (Matomo's day rows), a percent as a ratio (``format_metrics=0``)."""
    return {
        "label": label,
        "nb_plays": str(plays),
        "nb_impressions": plays * 4,
        "sum_total_time_watched": plays * 30,
        "play_rate": 0.25,
        "avg_time_watched": 30,
        "nb_finishes": plays // 2,  # not in the metadata: lands in `other_metrics`
    }


def video_titles(site: int, start: date, params: dict[str, str]) -> list[Row]:
    n = _seed(site, start)
    return [
        _media_row("Intro", n) | {"segment": "mediaTitle==Intro"},
        _media_row("Product demo", n + 7) | {"segment": "mediaTitle==Product%20demo"},
    ]


def video_resources(site: int, start: date, params: dict[str, str]) -> list[Row]:
    n = _seed(site, start)
    leaves = [("cdn.example.com", "/intro.mp4", n), ("cdn.example.com", "/demo.mp4", n + 1)]
    leaves.append(("video.example.org", "/talk.webm", n + 2))
    if params.get("flat") == "1":
        return [
            _media_row(f"{domain} - {url}", plays)
            | {"MediaAnalytics_ResourceDomain": domain, "MediaAnalytics_ResourceUrl": url}
            for domain, url, plays in leaves
        ]
    domains: dict[str, int] = {}
    for domain, _, plays in leaves:
        domains[domain] = domains.get(domain, 0) + plays
    return [
        _media_row(domain, plays) | {"idsubdatatable": index}
        for index, (domain, plays) in enumerate(domains.items(), start=1)
    ]


def media_summary(site: int, start: date, params: dict[str, str]) -> Row:
    row = _media_row("", _seed(site, start) * 3)
    del row["label"]
    return row


def custom_report(site: int, start: date, params: dict[str, str]) -> list[Row]:
    n = _seed(site, start)
    if params["idCustomReport"] == "5":
        return [{"label": "Camille", "nb_pageviews": n}, {"label": "Louis", "nb_pageviews": 3}]
    return [
        {
            "label": "Shoes",
            "nb_visits": n,
            "sum_product_revenue": "1234.50",
            "avg_product_revenue": 61.725,
        },
        {"label": "Hats", "nb_visits": 3, "sum_product_revenue": 45, "avg_product_revenue": 15},
    ]


#: (method, fixed parameters) -> the rows (or metrics) of one site and period.
ANSWERS: dict[tuple[str, tuple[tuple[str, str], ...]], Callable[..., Any]] = {
    ("MediaAnalytics.getVideoTitles", ()): video_titles,
    ("MediaAnalytics.getGroupedVideoResources", ()): video_resources,
    ("MediaAnalytics.get", ()): media_summary,
    ("CustomReports.getCustomReport", (("idCustomReport", "3"),)): custom_report,
    ("CustomReports.getCustomReport", (("idCustomReport", "5"),)): custom_report,
}


def _sites_of(method: str, fixed: dict[str, str]) -> tuple[int, ...]:
    for entry, sites in REPORTS:
        params = {k: str(v) for k, v in (entry.get("parameters") or {}).items()}
        if f"{entry['module']}.{entry['action']}" == method and params == fixed:
            return sites
    return ()


def _start(key: str, period: str) -> date:
    """The first day of a period key (``2026-11-20``, ``2026-11-16,2026-11-22``, ``2026-11``)."""
    first = key.split(",")[0]
    if period == "month":
        return date.fromisoformat(f"{first}-01")
    if period == "year":
        return date(int(first), 1, 1)
    return date.fromisoformat(first)


def answer(method: str, params: dict[str, str]) -> tuple[int, Any]:
    """A fake plugin report's answer, like Matomo's for the same call."""
    fixed = {k: v for k, v in params.items() if k == "idCustomReport"}
    rows = ANSWERS.get((method, tuple(sorted(fixed.items()))))
    site = int(params.get("idSite", "0") or 0)
    if rows is None or site not in _sites_of(method, fixed):
        return 200, {"result": "error", "message": "This report does not exist."}
    period, when = params.get("period", "day"), params.get("date", "")
    if period == "range":
        return 200, rows(site, _resolve_day(when.split(",")[0]), params)
    if _is_multi_date(params):
        first, _, last = when.partition(",")
        keys = _period_keys(_resolve_day(first), _resolve_day(last), period)
        return 200, {key: rows(site, _start(key, period), params) for key in keys}
    day = _resolve_day(when)
    return 200, rows(site, _start(_period_keys(day, day, period)[0], period), params)


def expected(method: str, site: int, start: date, **params: str) -> Any:
    """What the fake answers for one site and period (the rows a test compares records to)."""
    fixed = {k: v for k, v in params.items() if k == "idCustomReport"}
    return ANSWERS[(method, tuple(sorted(fixed.items())))](site, start, params)


def install(fake: FakeMatomo) -> None:
    """Make the fake list and answer the fake plugin reports (and refuse unknown methods)."""

    def metadata(params: dict[str, str]) -> tuple[int, Any]:
        site = params.get("idSite", "")
        status, body = fake.answer_recorded(params)
        if not isinstance(body, list):  # only site 1 has recorded metadata of its own
            status, body = fake.answer_recorded({**params, "idSite": "all"})
        listed = [entry for entry, sites in REPORTS if site.isdigit() and int(site) in sites]
        return status, [*body, *listed]

    fake.handlers["API.getReportMetadata"] = metadata
    for method, _ in ANSWERS:
        fake.handlers[method] = lambda params, method=method: answer(method, params)
    fake.handlers["UserLanguage.getNothing"] = lambda params: (
        200,
        {
            "result": "error",
            "message": "The method 'getNothing' does not exist or is not available in the "
            "module '\\Piwik\\Plugins\\UserLanguage\\API'.",
        },
    )

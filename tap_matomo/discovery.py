"""Reports the catalog lacks, as catalog entries: the server's own, and the user's.

Live discovery reads ``API.getReportMetadata`` (each site's list of the reports it offers: core
and plugin reports, with their dimension, metrics and metric types) and turns every report that no
catalog entry covers into a :class:`~tap_matomo.catalog.ReportSpec`; the `extra_reports` setting
declares more by method and fixed parameters. Both are served by the same generic
:class:`~tap_matomo.streams.reports.ReportStream` as the catalog, so they are planned, fetched,
keyed and typed like every report. The catalog's entries stay the hand-checked refinements
(names, keys, descriptions) of what the metadata says.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tap_matomo.catalog import Dimension, ReportSpec
from tap_matomo.errors import MatomoAuthError, MatomoError
from tap_matomo.schemas import metric_json_type

#: The setting that declares extra report streams.
EXTRA_REPORTS = "extra_reports"

#: Matomo metric types (``metricTypes``) whose values are numbers that need not be whole.
_NUMBER_TYPES = frozenset({"money", "percent", "duration_s", "duration_ms", "float"})
#: Matomo metric types whose values are counts or numbers: typed by the metric's name.
_COUNT_TYPES = frozenset({"number", "integer", "byte", "bool"})
#: Columns of every report stream: a level or text column never takes these names.
_RESERVED = frozenset(
    {"site_id", "period", "date", "end_date", "label", "segment", "url", "is_summary"}
    | {"goals", "other_metrics"}
)
_METHOD = re.compile(r"^[A-Za-z][A-Za-z0-9_]*\.[A-Za-z][A-Za-z0-9_]*$")
_STREAM_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def snake(text: str) -> str:
    """``getNumberOfVisitsPerPage`` -> ``get_number_of_visits_per_page``; ``API`` -> ``api``."""
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", text)
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _slug(value: str) -> str:
    """A parameter value in a stream name: ``ecommerceOrder`` -> ``ecommerce_order``.

    Values too long for a name (segments) end in a short hash of the whole value.
    """
    slug = snake(value)
    if slug and len(slug) <= 40:
        return slug
    digest = hashlib.sha1(value.encode(), usedforsecurity=False).hexdigest()[:8]
    return f"{slug[:24]}_{digest}".lstrip("_")


def report_name(method: str, params: Mapping[str, str]) -> str:
    """The stream name of a report: module, action and fixed parameters, stable across runs.

    ``UserLanguage.getLanguageCode`` -> ``user_language_language_code``; ``Module.get`` ->
    ``module_summary``; ``CustomReports.getCustomReport`` with ``idCustomReport=3`` ->
    ``custom_reports_custom_report_3``; ``Goals.getDaysToConversion`` with ``idGoal=1`` ->
    ``goals_days_to_conversion_goal_1``.
    """
    module, _, action = method.partition(".")
    action = action.removeprefix("get") if re.match(r"^get[A-Z]", action) else action
    name = f"{snake(module)}_{'summary' if action == 'get' else snake(action)}"
    for param, value in sorted(params.items()):
        if param == "idSite":
            continue
        key = snake(param.removeprefix("id")) if re.match(r"^id[A-Z]", param) else snake(param)
        name += f"_{_slug(value)}" if name.endswith(f"_{key}") else f"_{key}_{_slug(value)}"
    return name


def _fixed_params(value: Any) -> dict[str, str] | None:
    """Matomo's ``parameters`` of a report (``{"idGoal": 1}``) as request parameters."""
    if value in (None, [], {}):
        return {}
    if not isinstance(value, dict):
        return None
    params: dict[str, str] = {}
    for key, item in value.items():
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            return None
        params[str(key)] = str(item)
    return params


def _names(value: Any) -> list[str]:
    """The metric names of a metadata field (an object of name -> label, or a list)."""
    if isinstance(value, dict):
        return [str(name) for name in value]
    if isinstance(value, list):
        return [str(name) for name in value if isinstance(name, str)]
    return []


def _column_type(name: str, matomo_type: Any) -> str:
    """The JSON type of a metric from its Matomo type: money, percents, durations are numbers.

    Counts (``number``) are integers when the name says so, as in the catalog; a type that is
    no number (a text) makes a string column.
    """
    if matomo_type in _NUMBER_TYPES:
        return "number"
    if matomo_type is None or matomo_type in _COUNT_TYPES:
        return metric_json_type(name)
    return "string"


def _levels(entry: Mapping[str, Any], module: str, taken: set[str]) -> tuple[Dimension, ...]:
    """The level columns of a flattened report, from the row keys its ``dimensions`` name."""
    keys = entry.get("dimensions")
    if not isinstance(keys, dict) or len(keys) < 2:
        return ()
    levels = []
    for key, title in keys.items():
        column = snake(str(key).removeprefix(f"{module}_"))
        if not column or column in taken:
            column = snake(str(key))
        taken.add(column)
        levels.append(Dimension(column, str(key), description=f"Level: {title} (`{key}`)."))
    return tuple(levels)


def spec_from_metadata(entry: Mapping[str, Any], site_ids: Sequence[int]) -> ReportSpec | None:
    """The stream of one report of ``API.getReportMetadata``; None for what is no report.

    A report with a ``dimension`` has rows (keyed by label, or by its levels when it is
    hierarchical and flattened), one without has one row of metrics per period. Metrics are
    the report's ``metrics``, ``processedMetrics`` and ``metricsGoal``, typed by
    ``metricTypes``; other numeric values of a row land in ``other_metrics`` as everywhere.
    """
    module, action = entry.get("module"), entry.get("action")
    params = _fixed_params(entry.get("parameters"))
    if not (isinstance(module, str) and isinstance(action, str)) or params is None:
        return None
    method = f"{module}.{action}"
    if entry.get("isSubtableReport") or not _METHOD.match(method):
        return None  # a subtable: its rows come with its parent's, flattened
    types: dict[str, Any] = {}
    for field_name in ("metricTypesGoal", "metricTypes"):
        if isinstance(entry.get(field_name), dict):
            types.update(entry[field_name])
    names = dict.fromkeys(
        name
        for field_name in ("metrics", "processedMetrics", "metricsGoal")
        for name in _names(entry.get(field_name))
        if name not in _RESERVED
    )
    column_types = {name: _column_type(name, types.get(name)) for name in names}
    metrics = tuple(name for name, kind in column_types.items() if kind != "string")
    texts = tuple(Dimension(name, name) for name, kind in column_types.items() if kind == "string")
    table = bool(entry.get("dimension"))
    flat = table and bool(entry.get("actionToLoadSubTables"))
    levels = _levels(entry, module, set(_RESERVED) | set(names)) if flat else ()
    where = " > ".join(str(entry[k]) for k in ("category", "subcategory") if entry.get(k))
    fixed = ", ".join(f"{k}={v}" for k, v in params.items())
    shape = (
        f"one row per {entry.get('dimension')}" + (" (flattened)" if flat else "")
        if table
        else "one row of metrics per period"
    )
    return ReportSpec(
        name=report_name(method, params),
        method=method,
        family=str(entry.get("category") or module),
        description=f"{entry.get('name') or method} ({where or module}): `{method}`"
        + (f" with {fixed}" if fixed else "")
        + f", {shape}; found in the server's report metadata for site(s) "
        + ", ".join(map(str, site_ids))
        + ", and read for those sites only. Not selected by default.",
        kind="table" if table else "metrics",
        metrics=metrics,
        metric_types={name: column_types[name] for name in metrics},
        dimensions=(*levels, *texts),
        levels=tuple(level.column for level in levels),
        key_columns=tuple(level.column for level in levels) or (("label",) if table else ()),
        params=params,
        flat=flat,
        plugin=module,
        site_ids=tuple(site_ids),
        selected_by_default=False,
    )


def _covers(spec: ReportSpec, method: str, params: Mapping[str, str]) -> bool:
    """True when a catalog entry reads this report.

    That is: a method the entry says it covers (``covers``), or the same method and every
    fixed parameter of the report is the entry's own or one the entry varies (per goal, per
    custom dimension).
    """
    if method in spec.covers:
        return True
    if spec.method != method or spec.subtable_of:
        return False
    varied = spec.variants_of.param if spec.variants_of else None
    return all(key == varied or spec.params.get(key) == value for key, value in params.items())


def covered(known: Iterable[ReportSpec], method: str, params: Mapping[str, str]) -> bool:
    """True when one of the ``known`` entries reads the report of this method and parameters."""
    return any(_covers(spec, method, params) for spec in known)


def discovered_specs(
    metadata: Mapping[int, Iterable[Any]], known: Sequence[ReportSpec], taken: set[str]
) -> list[ReportSpec]:
    """A stream for every report of the sites' metadata that no ``known`` entry covers.

    ``metadata`` is each site's list of reports; a report is read for the sites that list it.
    ``taken`` are the stream names already in use (the catalog wins a clash); the new names are
    added to it.
    """
    found: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[Mapping[str, Any], list[int]]] = {}
    for site_id, entries in sorted(metadata.items()):
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            params = _fixed_params(entry.get("parameters"))
            key = (
                f"{entry.get('module')}.{entry.get('action')}",
                tuple(sorted((params or {}).items())),
            )
            if key in found:
                found[key][1].append(site_id)
            else:
                found[key] = (entry, [site_id])
    specs = []
    for (method, params), (entry, sites) in found.items():
        if covered(known, method, dict(params)):
            continue
        spec = spec_from_metadata(entry, sites)
        if spec is None or spec.name in taken:
            continue
        taken.add(spec.name)
        specs.append(spec)
    return specs


# -- reports declared by the user (`extra_reports`) -------------------------------------------


def declared_specs(value: Any, taken: set[str], errors: list[str]) -> tuple[ReportSpec, ...]:
    """The streams of the `extra_reports` setting; a problem of an entry goes to ``errors``.

    Each entry is ``{method, params?, name?, metrics?, flat?, one_period_per_request?}``. Its
    rows are keyed by site, period, date and `label` (empty for a report of one row per
    period); the named `metrics` are typed columns, every other numeric value goes to
    `other_metrics`. ``taken`` are the stream names in use; the new ones are added.
    """
    if value in (None, ""):
        return ()
    if not isinstance(value, list):
        errors.append(
            f"`{EXTRA_REPORTS}`: give a list of reports, e.g. "
            '[{"method": "UserLanguage.getLanguageCode"}].'
        )
        return ()
    specs = []
    for index, entry in enumerate(value, start=1):
        where = f"`{EXTRA_REPORTS}` entry {index}"
        if not isinstance(entry, dict):
            errors.append(f"{where}: give an object with at least a `method`.")
            continue
        method = entry.get("method")
        if not isinstance(method, str) or not _METHOD.match(method):
            errors.append(
                f"{where}: `method` {method!r} is not a Matomo API method; write it as "
                "Module.action, e.g. `UserLanguage.getLanguageCode`."
            )
            continue
        params = _fixed_params(entry.get("params"))
        if params is None:
            errors.append(f"{where}: `params` is an object of parameter -> text or number.")
            continue
        reserved = sorted(set(params) & {"idSite", "period", "date", "format", "token_auth"})
        if reserved:
            errors.append(f"{where}: `params` cannot set {', '.join(reserved)} (the tap does).")
            continue
        name = entry.get("name") or report_name(method, params)
        if not isinstance(name, str) or not _STREAM_NAME.match(name):
            errors.append(f"{where}: `name` {name!r}: use lower-case letters, digits and _.")
            continue
        if name in taken:
            errors.append(f"{where}: a stream is already named {name!r}; give another `name`.")
            continue
        metrics = entry.get("metrics") or []
        if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
            errors.append(f'{where}: `metrics` is a list of metric names, e.g. ["nb_visits"].')
            continue
        taken.add(name)
        fixed = ", ".join(f"{k}={v}" for k, v in params.items())
        specs.append(
            ReportSpec(
                name=name,
                method=method,
                family="Declared reports",
                description=f"`{method}`"
                + (f" with {fixed}" if fixed else "")
                + f", declared in `{EXTRA_REPORTS}`: one row per `label` (empty for a report "
                "of one row per period); undeclared metrics in `other_metrics`.",
                metrics=tuple(dict.fromkeys(m for m in metrics if m not in _RESERVED)),
                params=params,
                flat=bool(entry.get("flat")),
                multi_date=not entry.get("one_period_per_request"),
                declared_in=EXTRA_REPORTS,
            )
        )
    return tuple(specs)


def refusal(spec: ReportSpec, error: MatomoError) -> MatomoError:
    """The error to raise when Matomo refuses a call of ``spec``.

    For a declared report: one line that names the setting and the entry (unknown method,
    plugin not activated, bad parameter), since the user asked for it by name.
    """
    if spec.declared_in is None or isinstance(error, MatomoAuthError):
        return error
    return MatomoError(
        f"`{spec.declared_in}`: Matomo refused the report '{spec.name}' ({spec.method}): "
        f"{error.detail.rstrip('.')}. Check the entry's `method` and `params` (and that its "
        "plugin is activated), or remove it."
    )

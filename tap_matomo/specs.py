"""What makes a report stream, as data: :class:`ReportSpec` and its parts.

The catalog modules (:mod:`tap_matomo.catalog` and the family modules it gathers) are lists of
these; :class:`~tap_matomo.streams.reports.ReportStream` turns each into a stream.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

ReportKind = Literal["metrics", "table"]

#: Visit metrics shared by most dimension reports (``nb_uniq_visitors``/``nb_users`` on days,
#: their ``sum_daily_*`` counterparts on longer periods).
VISIT_METRICS = (
    "nb_visits",
    "nb_uniq_visitors",
    "nb_users",
    "sum_daily_nb_uniq_visitors",
    "sum_daily_nb_users",
    "nb_actions",
    "max_actions",
    "sum_visit_length",
    "bounce_count",
    "nb_visits_converted",
    "nb_conversions",
    "revenue",
)

#: Visit metrics of reports that carry no goal metrics (and of flattened referrer subtables).
VISIT_METRICS_NO_GOALS = tuple(m for m in VISIT_METRICS if m not in ("nb_conversions", "revenue"))


@dataclass(frozen=True)
class Dimension:
    """A record column taken from a row key (a flattened level or row metadata).

    ``source`` is the row key, or ``segment:<name>`` for the value of one condition of the
    row's ``segment`` (for levels Matomo does not key). ``after`` names another column whose
    value, followed by Matomo's `` - `` level separator, is cut from the start of the label
    (the rest of a joined label). ``origin="request"`` takes the value from the request
    parameter ``source`` instead (the subtable id, the goal id of a per-goal report);
    ``origin="variant"`` from key ``source`` of the entry the request was made for (see
    :class:`VariantSource`: a custom dimension's name).
    """

    column: str
    source: str
    json_type: str = "string"
    description: str | None = None
    after: str | None = None
    origin: Literal["row", "request", "variant"] = "row"


@dataclass(frozen=True)
class VariantSource:
    """A per-site list a report is read for, one series of calls per entry.

    ``entries`` names the list :class:`~tap_matomo.runtime.MatomoRun` reads once per run for
    every site; ``id_key`` is the entry's id, sent as request parameter ``param``.
    """

    entries: Literal["goals", "custom_dimensions"]
    id_key: str
    param: str


@dataclass(frozen=True)
class FixedRows:
    """Rows Matomo lists in every period that has rows, with 0 visits when they have none.

    ``labels`` as Matomo names them (``language=en``); each row's segment is ``segment==``
    and the label in lower case, URL-encoded. Matomo 5.0 adds them to single-period answers
    only (``DevicesDetection.getType``: ``ensureDefaultRowsInTable`` skips multi-period ones).
    """

    labels: tuple[str, ...]
    segment: str


#: One series per goal of the site (``Goals.getGoals``).
PER_GOAL = VariantSource("goals", "idgoal", "idGoal")
#: One series per active custom dimension of the site (``getConfiguredCustomDimensions``).
PER_CUSTOM_DIMENSION = VariantSource("custom_dimensions", "idcustomdimension", "idDimension")


@dataclass(frozen=True)
class ReportSpec:
    """Everything that makes one report stream: what to call, how to key and type its rows."""

    name: str
    method: str
    family: str
    description: str
    kind: ReportKind = "table"
    metrics: tuple[str, ...] = VISIT_METRICS
    dimensions: tuple[Dimension, ...] = ()
    #: Columns (besides site, period and date) that make a row unique.
    key_columns: tuple[str, ...] = ("label",)
    #: Extra request parameters, e.g. ``{"idGoal": "ecommerceOrder"}``.
    params: Mapping[str, str] = field(default_factory=dict)
    #: The report is hierarchical: ask ``flat=1`` so every level has its own column.
    flat: bool = False
    #: Hierarchy levels, top first: dimension columns that take Matomo's per-level keys when
    #: flattened; unflattened (setting ``none``) the first takes the label, the others stay empty.
    levels: tuple[str, ...] = ()
    #: Sub-dimensions the `report_flattening` setting can pick (value -> extra request
    #: parameters), for reports where Matomo offers a choice (Events ``secondaryDimension``).
    flatten_choices: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    #: Method that returns one row's subtable (``idSubtable``), read by the stream
    #: ``<name>_subtable`` for the ids listed in the `subtables` setting.
    subtable_method: str | None = None
    #: Parent stream of a subtable stream (set by :func:`subtable_spec`).
    subtable_of: str | None = None
    #: One series of requests per entry of a per-site list: per goal (``idGoal``), per
    #: custom dimension (``idDimension``). A site whose list is empty is not asked.
    variants_of: VariantSource | None = None
    #: False for methods that refuse ``date=A,B`` ("does not support multiple dates").
    multi_date: bool = True
    #: The plugin the report needs, when it is not part of Matomo core.
    plugin: str | None = None
    selected_by_default: bool = True
    # -- items: one partition per site and configured item (page URL, page title, step) ------
    #: Setting that lists the items (e.g. `page_urls`): one partition, and one bookmark, per
    #: site and item; no request at all when the setting is empty.
    item_setting: str | None = None
    #: Request parameter that carries the item (e.g. ``pageUrl``).
    item_param: str | None = None
    #: Record column that carries the item, in the primary key after ``site_id``.
    item_column: str | None = None
    item_json_type: Literal["string", "integer"] = "string"
    #: Which stream class turns the answers into rows: the generic report stream, or one of
    #: the classes for answers shaped differently (Transitions, Users Flow paths).
    stream_class: Literal["report", "transitions", "users_flow"] = "report"
    #: Kind ``metrics``: the metrics Matomo's answer for one period alone holds as 0 when
    #: they count nothing (default: every declared metric); multi-period answers leave them
    #: out, or the whole period (see :mod:`tap_matomo.single_period`).
    zero_metrics: tuple[str, ...] | None = None
    #: Rows Matomo's answer for one period alone always lists (see :class:`FixedRows`).
    fixed_rows: FixedRows | None = None
    #: Other methods whose data this stream holds (e.g. ``MultiSites.getAll``, the
    #: per-site ``MultiSites.getOne`` rows of every site at once): no stream of their own.
    covers: tuple[str, ...] = ()
    # -- reports the catalog lacks (tap_matomo/discovery.py) ---------------------------------
    #: JSON type of metrics whose name alone does not tell it (typed from Matomo's metadata).
    metric_types: Mapping[str, str] = field(default_factory=dict)
    #: The sites whose report metadata lists the report; None: every configured site.
    site_ids: tuple[int, ...] | None = None
    #: The setting that declared the report: Matomo refusing it is an error naming it.
    declared_in: str | None = None

    def flattening_values(self) -> tuple[str, ...]:
        """Values the `report_flattening` setting accepts for this stream (none if flat)."""
        if not self.flat:
            return ()
        return ("flat", *self.flatten_choices, "none")


def dim(column: str, source: str | None = None, json_type: str = "string") -> Dimension:
    """A column taken as is from the row key ``source`` (default: the column's name)."""
    return Dimension(column=column, source=source or column, json_type=json_type)


def subtable_spec(parent: ReportSpec) -> ReportSpec:
    """The stream ``<parent>_subtable``: the subtables the `subtables` setting names.

    Its rows are the parent's metrics for the children of one parent row (e.g. the keywords
    of one search engine), keyed by the subtable id and the child label. Off by default: it
    reads nothing unless the setting lists ids for its parent.
    """
    assert parent.subtable_method is not None
    return ReportSpec(
        name=f"{parent.name}_subtable",
        method=parent.subtable_method,
        family=parent.family,
        description=f"Rows of one `{parent.name}` row's subtable (`subtable_id` = its "
        "`idsubdatatable`), for the ids listed in the `subtables` setting. Subtable ids belong "
        "to one archive (site, period and date).",
        metrics=parent.metrics,
        dimensions=(Dimension("subtable_id", "idSubtable", "integer", origin="request"),),
        key_columns=("subtable_id", "label"),
        params=parent.params,
        multi_date=parent.multi_date,
        plugin=parent.plugin,
        subtable_of=parent.name,
        selected_by_default=False,
    )

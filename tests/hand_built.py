"""HAND-BUILT answers for Matomo calls that no recording holds, derived from recorded ones.

Nothing here was sent by a Matomo server. The recordings hold no answer to
``Actions.getEntryPageTitles`` / ``getExitPageTitles`` nor to ``Goals.getItemsName`` /
``getItemsCategory`` with ``abandonedCarts=1``; :func:`install` makes the fake answer them by
transforming the recorded answer of the sibling call, period by period and site by site:

- Entry (exit) pages are the pages report without the top-level rows that have no
  ``entry_nb_visits`` (``exit_nb_visits``), the flattened level key and the segment renamed
  (``Actions_PageTitle`` -> ``Actions_EntryPageTitle``, ``pageTitle==`` -> ``entryPageTitle==``).
  The recordings show exactly this relation between ``getPageUrls`` and ``getEntryPageUrls`` /
  ``getExitPageUrls`` (0272 -> 0292, 0302; flat 0273 -> 0293; tests/test_report_gaps.py checks
  it). Page titles have one level (every row is top-level), so every row is filtered.
- Abandoned-cart products are shaped like recording 0508 (``getItemsSku`` with
  ``abandonedCarts=1``): the orders report's rows with ``orders`` named ``abandoned_carts``.
  Their values are the orders' values, so only their shape is Matomo's.
- ``CustomDimensions.getConfiguredCustomDimensions`` is recorded for site 1 only (0014); sites 2
  and 3 answer the dimensions the recordings README lists for them (2: id 1 "Author", action
  scope; 3: id 1 "Industry", visit scope), shaped like 0014. Sites past 3 (benchmarks add
  them) get the list of site ``(id - 1) % 3 + 1``, as their goals do.
- The catalog's reports of issue 10 that no recording answers: tests/hand_built_catalog.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests import hand_built_catalog
from tests.fake_matomo import FakeMatomo

Rows = list[dict[str, Any]]


def map_tables(body: Any, rows: Callable[[Rows], Rows]) -> Any:
    """Apply ``rows`` to every table of an answer (one period, keyed by period or by site)."""
    if isinstance(body, list):
        return rows(body)
    if isinstance(body, dict) and body.get("result") != "error":
        return {key: map_tables(value, rows) for key, value in body.items()}
    return body


def entry_exit_rows(rows: Rows, kind: str, dimension: str) -> Rows:
    """Matomo's entry (``kind="entry"``) or exit pages of a top-level pages table.

    ``dimension`` is ``PageUrl`` or ``PageTitle``: the level key ``Actions_<dimension>`` and
    the segment ``pageUrl``/``pageTitle`` get the ``Entry``/``Exit`` prefix.
    """
    prefix = kind.capitalize()
    segment = dimension[0].lower() + dimension[1:]
    kept = []
    for row in rows:
        if row.get(f"{kind}_nb_visits") in (None, ""):
            continue
        new: dict[str, Any] = {}
        for key, value in row.items():
            if key == f"Actions_{dimension}":
                new[f"Actions_{prefix}{dimension}"] = value
            elif key == "segment" and isinstance(value, str) and value.startswith(f"{segment}=="):
                new[key] = f"{kind}{dimension}{value[len(segment) :]}"  # entryPageTitle==...
            else:
                new[key] = value
        kept.append(new)
    return kept


def abandoned_cart_rows(rows: Rows) -> Rows:
    """Rows of a products report of orders, shaped like abandoned carts (0508)."""
    return [
        {("abandoned_carts" if key == "orders" else key): value for key, value in row.items()}
        for row in rows
    ]


def install(fake: FakeMatomo) -> None:
    """Answer the unrecorded calls from their recorded siblings (see the module docstring)."""
    for kind in ("entry", "exit"):
        fake.handlers[f"Actions.get{kind.capitalize()}PageTitles"] = _page_titles(fake, kind)
    for method in ("Goals.getItemsName", "Goals.getItemsCategory"):
        fake.handlers[method] = _cart_items(fake)
    fake.handlers[CONFIGURED_DIMENSIONS] = _configured_dimensions(fake)
    hand_built_catalog.install(fake)


def _page_titles(fake: FakeMatomo, kind: str) -> Callable[[dict[str, str]], tuple[int, Any]]:
    def answer(params: dict[str, str]) -> tuple[int, Any]:
        status, body = fake.answer_recorded({**params, "method": "Actions.getPageTitles"})
        return status, map_tables(body, lambda rows: entry_exit_rows(rows, kind, "PageTitle"))

    return answer


def _cart_items(fake: FakeMatomo) -> Callable[[dict[str, str]], tuple[int, Any]]:
    def answer(params: dict[str, str]) -> tuple[int, Any]:
        if params.get("abandonedCarts") != "1":
            return fake.answer_recorded(params)
        orders = {key: value for key, value in params.items() if key != "abandonedCarts"}
        status, body = fake.answer_recorded(orders)
        return status, map_tables(body, abandoned_cart_rows)

    return answer


CONFIGURED_DIMENSIONS = "CustomDimensions.getConfiguredCustomDimensions"
#: HAND-BUILT: (name, scope) of dimension 1 of sites 2 and 3, from the recordings README.
DIMENSIONS_OF_SITE = {"2": ("Author", "action"), "3": ("Industry", "visit")}


def configured_dimensions(site: str, name: str, scope: str) -> list[dict[str, Any]]:
    """One active dimension (id 1) of a site, shaped like recording 0014."""
    return [
        {
            "idcustomdimension": "1",
            "idsite": site,
            "name": name,
            "index": "1",
            "scope": scope,
            "active": True,
            "extractions": [],
            "case_sensitive": True,
        }
    ]


def _configured_dimensions(fake: FakeMatomo) -> Callable[[dict[str, str]], tuple[int, Any]]:
    def answer(params: dict[str, str]) -> tuple[int, Any]:
        site = params.get("idSite", "")
        if not site.isdigit():
            return fake.answer_recorded(params)
        like = str((int(site) - 1) % 3 + 1)
        if like == "1":
            status, body = fake.answer_recorded({**params, "idSite": "1"})
            if isinstance(body, list):
                body = [{**dimension, "idsite": site} for dimension in body]
            return status, body
        return 200, configured_dimensions(site, *DIMENSIONS_OF_SITE[like])

    return answer

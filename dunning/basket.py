"""The selection basket: a set of item ids picked across searches, and its totals.

The basket is a frozenset of item ids, never row positions: a position means nothing
once a table is sorted, filtered or paged, an id always names the same item. Each
operation returns a new set, so a page keeps the current one in its session state.
Figures (totals, hidden count, what is still open) are read in SQL at an as-of date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

import duckdb

from dunning import ledger, money, penalties, search

EMPTY: frozenset[int] = frozenset()

# Item ids of a basket as one bound list parameter, a relation of one column.
_SELECTED = "(SELECT unnest($basket_ids::BIGINT[]) AS item_id)"

# How many dropped documents a notice names before it counts the rest.
NOTICE_NAMES = 10


@dataclass(frozen=True)
class Summary:
    """What the basket shows: how many items, totals per currency, how many hidden."""

    count: int
    totals: dict[str, Decimal]
    hidden: int


class Dropped(NamedTuple):
    """An item that left the basket: no longer open (or no longer stored)."""

    item_id: int
    customer_number: str | None
    doc_number: str | None


def ids(values: Iterable[Any]) -> frozenset[int]:
    """Item ids as plain ints (a frame's numpy integers included)."""
    return frozenset(int(value) for value in values)


def add(selected: frozenset[int], new: Iterable[Any]) -> frozenset[int]:
    """The basket with these items added."""
    return selected | ids(new)


def remove(selected: frozenset[int], gone: Iterable[Any]) -> frozenset[int]:
    """The basket without these items."""
    return selected - ids(gone)


def clear() -> frozenset[int]:
    """An empty basket."""
    return EMPTY


def select_all(
    con: duckdb.DuckDBPyConnection,
    selected: frozenset[int],
    filters: search.Filters,
    as_of: dt.date,
) -> frozenset[int]:
    """The basket plus every match of the search, not only the rows on screen."""
    return selected | ids(search.item_ids(con, filters, as_of))


def ids_at(rows: Any, positions: Iterable[int]) -> list[int]:
    """The item ids of rows picked by position in a page (a DataFrame or dicts).

    A table widget reports positions into the frame it was given; they are turned
    into ids at once, before the next sort or search makes them point elsewhere.
    """
    if hasattr(rows, "iloc"):
        column = rows["item_id"]
        return [int(column.iloc[position]) for position in positions]
    return [int(rows[position]["item_id"]) for position in positions]


def ticked(
    selected: frozenset[int], before: Iterable[Any], now: Iterable[Any]
) -> frozenset[int]:
    """The basket after the ticks of a table of rows went from `before` to `now`.

    A row ticked since the last look joins the basket, a row unticked leaves it;
    items not in the table (other pages, other searches) are left as they are.
    """
    before, now = ids(before), ids(now)
    return (selected | (now - before)) - (before - now)


def positions(selected: frozenset[int], page_ids: Sequence[Any]) -> list[int]:
    """Positions in a page of rows of the items that are in the basket."""
    return [n for n, item_id in enumerate(page_ids) if int(item_id) in selected]


def workspace_version(con: duckdb.DuckDBPyConnection) -> tuple:
    """What changes when an import changes the items: when to `prune` again."""
    return con.execute(
        "SELECT count(*), max(import_id), max(finished_at) FROM imports"
    ).fetchone()


def totals(
    con: duckdb.DuckDBPyConnection, selected: frozenset[int], as_of: dt.date
) -> dict[str, Decimal]:
    """Open amount of the selected items per currency at the as-of date.

    Summed in SQL on DECIMAL(18,2), never across currencies; a selected item that is
    not open at the as-of date adds nothing.
    """
    if not selected:
        return {}
    rows = con.execute(
        f"SELECT o.currency, sum(o.open_amount) FROM ({ledger.items_at()}) o "
        f"JOIN {_SELECTED} s USING (item_id) GROUP BY o.currency ORDER BY 1",
        {"as_of": as_of, "basket_ids": sorted(selected)},
    ).fetchall()
    return {currency: money.to_cents(total) for currency, total in rows}


def hidden(
    con: duckdb.DuckDBPyConnection,
    selected: frozenset[int],
    filters: search.Filters,
    as_of: dt.date,
) -> int:
    """How many selected items the current search does not show.

    Counted as the basket's size less the matches found among its ids: the search
    then reads only the basket's rows, where an anti join would match every item.
    """
    if not selected:
        return 0
    matches, params = search.matches_sql(filters, as_of)
    with search.time_limited(con, expert=bool(filters.where)) as cursor:
        row = cursor.execute(
            f"SELECT count(*) FROM ({matches}) m SEMI JOIN {_SELECTED} s "
            "USING (item_id)",
            {**params, "basket_ids": sorted(selected)},
        ).fetchone()
    return len(selected) - row[0]


def summary(
    con: duckdb.DuckDBPyConnection,
    selected: frozenset[int],
    filters: search.Filters,
    as_of: dt.date,
) -> Summary:
    """Count, per-currency totals and hidden count, for the basket's panel."""
    return Summary(
        len(selected),
        totals(con, selected, as_of),
        hidden(con, selected, filters, as_of),
    )


def of_customer(
    con: duckdb.DuckDBPyConnection, selected: frozenset[int], customer_number: str
) -> tuple[frozenset[int], int]:
    """The basket's items of one customer, and how many belong to other customers.

    The customer record acts on its own items only (an action, a qualification);
    the basket keeps the others for their own records.
    """
    if not selected:
        return EMPTY, 0
    rows = con.execute(
        f"SELECT i.item_id FROM items i JOIN {_SELECTED} s USING (item_id) "
        "WHERE i.customer_number = $customer",
        {"basket_ids": sorted(selected), "customer": customer_number},
    ).fetchall()
    mine = frozenset(row[0] for row in rows)
    return mine, len(selected) - len(mine)


def penalty_totals(
    con: duckdb.DuckDBPyConnection, selected: frozenset[int], as_of: dt.date
) -> dict[str, penalties.Totals]:
    """Penalties on the basket per currency, whatever customers it spans.

    Each customer's items are assessed under that customer's rule; the totals are
    sums of the rounded item values per currency (indemnities under their own
    currency), as `penalties.totals` makes them, and never one sum across
    currencies. Disputed and litigation items bear none, as in an action.
    """
    assessed = penalties.assess_many(con, selected, as_of)
    return penalties.totals(
        item for assessment in assessed.values() for item in assessment.items
    )


def prune(
    con: duckdb.DuckDBPyConnection, selected: frozenset[int], as_of: dt.date
) -> tuple[frozenset[int], list[Dropped]]:
    """Split the basket into items still open at the as-of date and those dropped.

    Run after an import: an item it closed (paid, or missing from a snapshot) leaves
    the basket, and the dropped ones come with their document numbers for a notice.
    An id no longer stored at all (the workspace was reset) is dropped without one.
    """
    if not selected:
        return EMPTY, []
    rows = con.execute(
        f"""
        SELECT s.item_id, i.customer_number, i.doc_number, o.item_id IS NOT NULL
        FROM {_SELECTED} s
        LEFT JOIN items i ON i.item_id = s.item_id
        LEFT JOIN ({ledger.items_at()}) o ON o.item_id = s.item_id
        ORDER BY i.customer_number NULLS LAST, i.doc_number, s.item_id
        """,
        {"as_of": as_of, "basket_ids": sorted(selected)},
    ).fetchall()
    kept = frozenset(item_id for item_id, _, _, is_open in rows if is_open)
    dropped = [Dropped(i, c, d) for i, c, d, is_open in rows if not is_open]
    return kept, dropped


def notice(dropped: Sequence[Dropped], as_of: dt.date) -> str | None:
    """One sentence telling which items left the basket, or None when none did."""
    if not dropped:
        return None
    named = [
        f"{item.customer_number} {item.doc_number}"
        for item in dropped
        if item.doc_number is not None
    ]
    parts = []
    if named:
        more = len(named) - NOTICE_NAMES
        parts.append(
            ", ".join(named[:NOTICE_NAMES]) + (f" and {more} more" * (more > 0))
        )
    if len(named) < len(dropped):
        parts.append(f"{len(dropped) - len(named)} no longer in the workspace")
    items = "item" if len(dropped) == 1 else "items"
    return (
        f"{len(dropped)} selected {items} left the basket, no longer open at "
        f"{as_of:%Y-%m-%d}: {'; '.join(parts)}."
    )

"""Item qualification: promise to pay, dispute, dispute resolved, litigation, ignored.

A qualification is written on the item (its status, status date, comment, author
and promise date) and kept in its history (one item_events row per item), both in
one transaction, so an item never shows a status its history does not explain.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
from collections.abc import Iterable
from typing import Any

import duckdb

from dunning import clock, store
from dunning.errors import InvalidValue, NotFound

STATUSES = ("open", "promised", "disputed", "dispute_resolved", "litigation", "ignored")
LABELS = {
    "open": "Open",
    "promised": "Promise to pay",
    "disputed": "Disputed",
    "dispute_resolved": "Dispute resolved",
    "litigation": "Litigation",
    "ignored": "Ignored",
}
MAX_COMMENT = 2000


def author_or_default(author: str | None = None) -> str:
    """Who makes a change: the given author, else $DUNNING_USER, else the login."""
    if author and author.strip():
        return author.strip()
    configured = os.environ.get("DUNNING_USER", "").strip()
    if configured:
        return configured
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def qualify(
    con: duckdb.DuckDBPyConnection,
    item_ids: Iterable[int],
    status: str,
    status_date: dt.date | str | None = None,
    comment: str | None = None,
    author: str | None = None,
    promise_date: dt.date | str | None = None,
    action_id: int | None = None,
) -> int:
    """Give items a status; returns how many items were qualified."""
    ids = sorted(set(int(i) for i in item_ids))
    day, promised, text = _checked(status, status_date, comment, promise_date)
    who = author_or_default(author)
    if not ids:
        raise InvalidValue("Choose at least one item to qualify.")

    # Every item must exist; a resolved dispute must have been one.
    found = dict(
        con.execute(
            "SELECT item_id, status FROM items "
            "WHERE item_id IN (SELECT unnest($ids::BIGINT[]))",
            {"ids": ids},
        ).fetchall()
    )
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(f"No item has the id {missing[0]}: it may have been removed.")
    if status == "dispute_resolved":
        _only_disputed(con, ids, found)

    # The item and its history change together.
    now = _now()
    with store.transaction(con):
        con.execute(
            """
            UPDATE items SET status = $status, status_date = $day,
                status_comment = $comment, status_author = $author,
                promise_date = $promise
            WHERE item_id IN (SELECT unnest($ids::BIGINT[]))
            """,
            {
                "status": status,
                "day": day,
                "comment": text,
                "author": who,
                "promise": promised,
                "ids": ids,
            },
        )
        con.execute(
            """
            INSERT INTO item_events (item_id, happened_at, author, status,
                status_date, promise_date, comment, action_id)
            SELECT unnest($ids::BIGINT[]), $now, $author, $status, $day, $promise,
                $comment, $action
            """,
            {
                "ids": ids,
                "now": now,
                "author": who,
                "status": status,
                "day": day,
                "promise": promised,
                "comment": text,
                "action": action_id,
            },
        )
    return len(ids)


def _checked(status, status_date, comment, promise_date):
    """The status date, promise date and comment, or InvalidValue saying why not."""
    if status not in STATUSES:
        raise InvalidValue(f"Status {status!r}: use one of {', '.join(STATUSES)}.")
    day = clock.parse_iso(status_date, "status date")
    promised = None
    if status == "promised":
        if promise_date in (None, ""):
            raise InvalidValue(
                "A promise to pay needs the date the customer promised to pay by."
            )
        promised = clock.parse_iso(promise_date, "promise date")
        if promised < day:
            raise InvalidValue(
                f"The promise date {promised.isoformat()} is before the day the "
                f"promise was given ({day.isoformat()}): give a later date."
            )
    text = (comment or "").strip() or None
    if text and len(text) > MAX_COMMENT:
        raise InvalidValue(
            f"The comment is {len(text)} characters long: keep it under {MAX_COMMENT}."
        )
    return day, promised, text


def _only_disputed(con, ids: list[int], found: dict[int, str]) -> None:
    """A dispute is resolved only on items that are disputed."""
    others = [i for i in ids if found[i] != "disputed"]
    if not others:
        return
    docs = [
        row[0]
        for row in con.execute(
            "SELECT doc_number FROM items WHERE item_id IN "
            "(SELECT unnest($ids::BIGINT[])) ORDER BY doc_number",
            {"ids": others},
        ).fetchall()
    ]
    raise InvalidValue(
        f"Only disputed items can be marked dispute resolved; not disputed: "
        f"{', '.join(docs)}."
    )


def history(con: duckdb.DuckDBPyConnection, item_id: int) -> list[dict[str, Any]]:
    """Every qualification an item was given, newest first."""
    cursor = con.execute(
        """
        SELECT happened_at, author, status, status_date, promise_date, comment,
               action_id
        FROM item_events WHERE item_id = ? ORDER BY happened_at DESC, rowid DESC
        """,
        [item_id],
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _now() -> dt.datetime:
    """Now, on the date clock.today() gives (fixed in tests and replays)."""
    return dt.datetime.combine(clock.today(), dt.datetime.now().time())

"""Accounts at an as-of date: balance, overdue and aging buckets per customer.

Figures are per customer and currency, computed in SQL on DECIMAL so that no total
is ever made across currencies or through floats.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import duckdb

from dunning import ledger, money


def _aggregate_sql() -> str:
    bucket = ledger.bucket_sql()
    overdue = ledger.overdue_sql()
    sums = ", ".join(
        f"sum(open_amount) FILTER (WHERE bucket = '{key}') AS {key}"
        for key, _ in ledger.BUCKETS
    )
    return f"""
    WITH open_items AS (
      SELECT *, {bucket} AS bucket, {overdue} AS overdue FROM ({ledger.items_at()})
    )
    SELECT customer_number, any_value(customer_name) AS name,
           any_value(segment) AS segment,
           any_value(account_manager) AS account_manager, currency,
           sum(open_amount) AS balance,
           coalesce(sum(open_amount) FILTER (WHERE overdue), 0) AS overdue,
           min(due_date) FILTER (WHERE overdue) AS oldest_due_date,
           max(days_late) FILTER (WHERE overdue) AS max_days_late,
           count(*) AS items_open,
           count(*) FILTER (WHERE overdue) AS items_overdue,
           {sums}
    FROM open_items
    GROUP BY customer_number, currency
    """


def by_customer_currency(
    con: duckdb.DuckDBPyConnection, as_of: dt.date
) -> duckdb.DuckDBPyRelation:
    """One row per customer and currency with open items at the as-of date."""
    return con.execute(
        _aggregate_sql() + " ORDER BY overdue DESC, customer_number", {"as_of": as_of}
    )


def customers(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> list[dict[str, Any]]:
    """Every customer with open items: per-currency balance and overdue (DESIGN 13)."""
    cursor = con.execute(
        _aggregate_sql() + " ORDER BY customer_number, currency", {"as_of": as_of}
    )
    names = [d[0] for d in cursor.description]
    merged: dict[str, dict[str, Any]] = {}
    for values in cursor.fetchall():
        row = dict(zip(names, values, strict=True))
        entry = merged.setdefault(
            row["customer_number"],
            {
                "customer_number": row["customer_number"],
                "name": row["name"],
                "balance": {},
                "overdue": {},
                "oldest_due_date": None,
                "items_open": 0,
                "items_overdue": 0,
            },
        )
        entry["balance"][row["currency"]] = money.to_cents(row["balance"])
        if row["items_overdue"]:
            entry["overdue"][row["currency"]] = money.to_cents(row["overdue"])
        oldest = row["oldest_due_date"]
        if oldest and (
            entry["oldest_due_date"] is None or oldest < entry["oldest_due_date"]
        ):
            entry["oldest_due_date"] = oldest
        entry["items_open"] += row["items_open"]
        entry["items_overdue"] += row["items_overdue"]
    return list(merged.values())


def totals(
    con: duckdb.DuckDBPyConnection, as_of: dt.date
) -> dict[str, dict[str, Decimal]]:
    """Workspace totals per currency: balance, overdue and each aging bucket."""
    keys = ["balance", "overdue", *(key for key, _ in ledger.BUCKETS)]
    sums = ", ".join(f"coalesce(sum({k}), 0) AS {k}" for k in keys)
    rows = con.execute(
        f"SELECT currency, {sums} FROM ({_aggregate_sql()}) GROUP BY currency "
        "ORDER BY currency",
        {"as_of": as_of},
    ).fetchall()
    return {
        row[0]: {
            key: money.to_cents(value) for key, value in zip(keys, row[1:], strict=True)
        }
        for row in rows
    }


def aging_long(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> list[tuple]:
    """(bucket, currency, amount) for the aging chart, owed amounts only."""
    return con.execute(
        f"""
        SELECT {ledger.bucket_sql()} AS bucket, currency, sum(open_amount)
        FROM ({ledger.items_at()}) WHERE open_amount > 0
        GROUP BY ALL ORDER BY currency
        """,
        {"as_of": as_of},
    ).fetchall()


ACCOUNT_SORTS = {
    "overdue": "overdue",
    "balance": "balance",
    "oldest_due_date": "oldest_due_date",
    "max_days_late": "max_days_late",
    "customer_number": "customer_number",
    "name": "name",
}


def accounts(
    con: duckdb.DuckDBPyConnection,
    as_of: dt.date,
    text: str | None = None,
    segments: list[str] | None = None,
    managers: list[str] | None = None,
    currencies: list[str] | None = None,
    overdue_only: bool = False,
    sort: str = "overdue",
    descending: bool = True,
    limit: int = 500,
    offset: int = 0,
) -> tuple[int, list[dict[str, Any]]]:
    """Accounts per customer and currency, filtered and sorted in SQL: the count of
    every match and one page of rows (amounts as Decimal)."""
    conditions, params = ["true"], {"as_of": as_of}
    if text and text.strip():
        # Accents are ignored: "zebre" finds "Zèbre SARL".
        conditions.append(
            "(customer_number ILIKE $text ESCAPE '\\' "
            "OR strip_accents(name) ILIKE strip_accents($text) ESCAPE '\\')"
        )
        params["text"] = ledger.contains_pattern(text.strip())
    for column, values, name in (
        ("segment", segments, "segments"),
        ("account_manager", managers, "managers"),
        ("currency", currencies, "currencies"),
    ):
        if values:
            conditions.append(f"{column} = ANY(${name})")
            params[name] = list(values)
    if overdue_only:
        conditions.append("items_overdue > 0")
    order = ACCOUNT_SORTS.get(sort)
    if order is None:
        raise ValueError(f"unknown sort {sort!r}")
    where = " AND ".join(conditions)
    base = f"SELECT * FROM ({_aggregate_sql()}) WHERE {where}"
    count = con.execute(f"SELECT count(*) FROM ({base})", params).fetchone()[0]
    cursor = con.execute(
        f"{base} ORDER BY {order} {'DESC' if descending else 'ASC'} NULLS LAST, "
        f"customer_number, currency LIMIT {int(limit)} OFFSET {int(offset)}",
        params,
    )
    names = [d[0] for d in cursor.description]
    return count, [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def of_customer(
    con: duckdb.DuckDBPyConnection, customer_number: str, as_of: dt.date
) -> list[dict[str, Any]]:
    """One customer's figures per currency at the as-of date (Decimal amounts)."""
    cursor = con.execute(
        f"SELECT * FROM ({_aggregate_sql()}) WHERE customer_number = $customer "
        "ORDER BY currency",
        {"as_of": as_of, "customer": customer_number},
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def choices(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Distinct segments, account managers and currencies, for filter pickers."""

    def distinct(sql: str) -> list[str]:
        return [row[0] for row in con.execute(sql).fetchall() if row[0]]

    return {
        "segments": distinct("SELECT DISTINCT segment FROM customers ORDER BY 1"),
        "managers": distinct(
            "SELECT DISTINCT account_manager FROM customers ORDER BY 1"
        ),
        "currencies": distinct("SELECT DISTINCT currency FROM items ORDER BY 1"),
    }

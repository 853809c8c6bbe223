"""The figures of the dashboard: aging, top overdue customers, the overdue trend over
as-of dates, actions over time and the penalties they claimed.

Every figure is per currency, computed in SQL on DECIMAL, and can be narrowed to
customer segments and account managers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import duckdb

from dunning import ledger

TREND_POINTS = 12


@dataclass(frozen=True)
class Scope:
    """Which customers a chart covers: empty lists mean every customer."""

    segments: list[str] = field(default_factory=list)
    managers: list[str] = field(default_factory=list)

    def sql(self, alias: str) -> tuple[str, dict[str, Any]]:
        """A condition on the customers aliased `alias`, with its parameters."""
        conditions, params = ["true"], {}
        if self.segments:
            conditions.append(f"{alias}.segment IN (SELECT unnest($segments))")
            params["segments"] = list(self.segments)
        if self.managers:
            conditions.append(f"{alias}.account_manager IN (SELECT unnest($managers))")
            params["managers"] = list(self.managers)
        return " AND ".join(conditions), params


def aging(
    con: duckdb.DuckDBPyConnection, as_of: dt.date, scope: Scope | None = None
) -> list[tuple[str, str, Decimal]]:
    """(bucket, currency, owed amount) of the open items at the as-of date."""
    where, params = (scope or Scope()).sql("i")
    rows = con.execute(
        f"""
        SELECT {ledger.bucket_sql("i")} AS bucket, currency, sum(open_amount)
        FROM ({ledger.items_at()}) i
        WHERE open_amount > 0 AND {where}
        GROUP BY ALL ORDER BY bucket, currency
        """,
        {"as_of": as_of, **params},
    ).fetchall()
    return [(bucket, currency, amount) for bucket, currency, amount in rows]


def top_overdue(
    con: duckdb.DuckDBPyConnection,
    as_of: dt.date,
    scope: Scope | None = None,
    limit: int = 10,
) -> list[dict[str, Any]]:
    """The customers owing the most overdue amount, per currency."""
    where, params = (scope or Scope()).sql("i")
    cursor = con.execute(
        f"""
        SELECT customer_number, any_value(customer_name) AS name, currency,
               sum(open_amount) AS overdue, max(days_late) AS max_days_late
        FROM ({ledger.items_at()}) i
        WHERE {ledger.overdue_sql("i")} AND {where}
        GROUP BY customer_number, currency
        ORDER BY overdue DESC, customer_number
        LIMIT $limit
        """,
        {"as_of": as_of, "limit": limit, **params},
    )
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def trend_dates(as_of: dt.date, points: int = TREND_POINTS) -> list[dt.date]:
    """Month ends before the as-of date, then the as-of date itself."""
    dates = [as_of]
    day = as_of.replace(day=1) - dt.timedelta(days=1)
    while len(dates) < points:
        dates.append(day)
        day = day.replace(day=1) - dt.timedelta(days=1)
    return sorted(dates)


def overdue_trend(
    con: duckdb.DuckDBPyConnection, dates: list[dt.date], scope: Scope | None = None
) -> list[tuple[dt.date, str, Decimal, Decimal]]:
    """(as-of date, currency, overdue, balance) at each date: the ledger replayed."""
    where, params = (scope or Scope()).sql("i")
    rows: list[tuple[dt.date, str, Decimal, Decimal]] = []
    for day in dates:
        found = con.execute(
            f"""
            SELECT currency,
                   coalesce(sum(open_amount) FILTER (
                       WHERE {ledger.overdue_sql("i")}), 0)::DECIMAL(18,2),
                   sum(open_amount)::DECIMAL(18,2)
            FROM ({ledger.items_at()}) i
            WHERE {where}
            GROUP BY currency ORDER BY currency
            """,
            {"as_of": day, **params},
        ).fetchall()
        rows += [
            (day, currency, overdue, balance) for currency, overdue, balance in found
        ]
    return rows


def actions_by_month(
    con: duckdb.DuckDBPyConnection, scope: Scope | None = None
) -> list[tuple[dt.date, str, str, int]]:
    """(month, type, status, count) of the actions, by the month they were planned."""
    where, params = (scope or Scope()).sql("c")
    rows = con.execute(
        f"""
        SELECT date_trunc('month', a.planned_for)::DATE AS month, a.type, a.status,
               count(*)
        FROM actions a LEFT JOIN customers c USING (customer_number)
        WHERE {where}
        GROUP BY ALL ORDER BY month, a.type, a.status
        """,
        params,
    ).fetchall()
    return [(month, kind, status, count) for month, kind, status, count in rows]


def penalties_claimed(
    con: duckdb.DuckDBPyConnection, scope: Scope | None = None
) -> list[tuple[dt.date, str, Decimal]]:
    """(month, currency, penalties) claimed by actions carried out.

    Interest is in the item's currency; the fixed indemnity in its own currency
    (EUR under French and German law whatever the invoice currency), so each part
    is totalled under the currency it is owed in.
    """
    where, params = (scope or Scope()).sql("c")
    rows = con.execute(
        f"""
        WITH claimed AS (
          SELECT date_trunc('month', coalesce(a.executed_at::DATE, a.planned_for))
                   ::DATE AS month,
                 ai.currency, ai.interest, ai.indemnity_currency, ai.indemnity
          FROM action_items ai
          JOIN actions a USING (action_id)
          LEFT JOIN customers c ON c.customer_number = a.customer_number
          WHERE a.status = 'done' AND ai.dropped_at IS NULL AND {where}
        ),
        parts AS (
          SELECT month, currency, interest AS amount FROM claimed
          UNION ALL
          SELECT month, coalesce(indemnity_currency, currency), indemnity FROM claimed
        )
        SELECT month, currency, sum(amount)::DECIMAL(18,2) FROM parts
        GROUP BY ALL HAVING sum(amount) <> 0 ORDER BY month, currency
        """,
        params,
    ).fetchall()
    return [(month, currency, amount) for month, currency, amount in rows]

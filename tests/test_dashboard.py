"""Dashboard figures on the five-item French ledger (tests/data, case 01).

C00012  FA-2026-0041  1234.56 issued 2026-01-02 due 2026-01-31
        FA-2026-0077 12500.00 issued 2026-01-15 due 2026-02-14
        AV-2026-0003  -250.00 issued 2026-01-20 (credit note)
C00027  FA-2025-1198   480.40 open, issued 2025-11-28 due 2025-12-28
C00031  FA-2026-0102  2045.10 issued 2026-02-03 due 2026-03-05
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from dunning import dashboard, importing

AS_OF = dt.date(2026, 2, 15)


@pytest.fixture
def ledger(con, data_file):
    report = importing.import_file(
        con, data_file("echeancier_clients_cp1252.csv"), importing.Options()
    )
    assert report.rows_loaded == 5
    con.execute(
        "UPDATE customers SET segment = 'retail' WHERE customer_number = 'C00027'"
    )
    con.execute(
        "UPDATE customers SET account_manager = 'Inès' "
        "WHERE customer_number <> 'C00027'"
    )
    return con


def test_aging_per_bucket_and_currency(ledger):
    assert dashboard.aging(ledger, AS_OF) == [
        # 15 and 1 days late: 1234.56 + 12500.00
        ("d1_30", "EUR", Decimal("13734.56")),
        # 49 days late
        ("d31_60", "EUR", Decimal("480.40")),
        ("not_due", "EUR", Decimal("2045.10")),
    ]


def test_aging_narrowed_to_a_segment(ledger):
    scope = dashboard.Scope(segments=["retail"])
    assert dashboard.aging(ledger, AS_OF, scope) == [
        ("d31_60", "EUR", Decimal("480.40"))
    ]


def test_top_overdue_customers(ledger):
    top = dashboard.top_overdue(ledger, AS_OF)
    assert [(row["customer_number"], row["overdue"]) for row in top] == [
        ("C00012", Decimal("13734.56")),
        ("C00027", Decimal("480.40")),
    ]
    scope = dashboard.Scope(managers=["Inès"])
    only = dashboard.top_overdue(ledger, AS_OF, scope)
    assert [row["customer_number"] for row in only] == ["C00012"]


def test_trend_dates_are_month_ends_then_the_as_of_date():
    assert dashboard.trend_dates(AS_OF, points=3) == [
        dt.date(2025, 12, 31),
        dt.date(2026, 1, 31),
        AS_OF,
    ]


def test_overdue_trend_replays_the_ledger_at_each_date(ledger):
    dates = dashboard.trend_dates(AS_OF, points=3)
    assert dashboard.overdue_trend(ledger, dates) == [
        # Only FA-2025-1198 is issued by 2025-12-31, and 3 days late.
        (dt.date(2025, 12, 31), "EUR", Decimal("480.40"), Decimal("480.40")),
        # FA-2026-0041 falls due that day (0 days late): overdue is FA-2025-1198;
        # balance 1234.56 + 12500.00 - 250.00 + 480.40 = 13964.96.
        (dt.date(2026, 1, 31), "EUR", Decimal("480.40"), Decimal("13964.96")),
        # 1234.56 + 12500.00 + 480.40 = 14214.96; balance adds 2045.10 - 250.00.
        (AS_OF, "EUR", Decimal("14214.96"), Decimal("16010.06")),
    ]


def test_no_actions_yet_gives_empty_action_charts(ledger):
    assert dashboard.actions_by_month(ledger) == []
    assert dashboard.penalties_claimed(ledger) == []

"""Balances, overdue and aging per customer at an as-of date.

Ledger of case 01 (tests/data/echeancier_clients_cp1252.csv), as-of 2026-02-15:
C00012 FA-2026-0041 1234.56 due 31/01 (15 d), FA-2026-0077 12500.00 due 14/02 (1 d),
AV-2026-0003 -250.00; C00027 FA-2025-1198 open 480.40 due 28/12/2025 (49 d);
C00031 FA-2026-0102 2045.10 due 05/03 (not due).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from dunning import aging, importing

AS_OF = dt.date(2026, 2, 15)


@pytest.fixture
def ledger(con, data_file):
    importing.import_file(con, data_file("echeancier_clients_cp1252.csv"))
    return con


def test_customers_balance_and_overdue(ledger):
    rows = {row["customer_number"]: row for row in aging.customers(ledger, AS_OF)}
    assert rows["C00012"]["balance"] == {
        "EUR": Decimal("13484.56")
    }  # 1234.56+12500-250
    assert rows["C00012"]["overdue"] == {
        "EUR": Decimal("13734.56")
    }  # credit not overdue
    assert rows["C00012"]["oldest_due_date"] == dt.date(2026, 1, 31)
    assert (rows["C00012"]["items_open"], rows["C00012"]["items_overdue"]) == (3, 2)
    assert rows["C00027"]["balance"] == {"EUR": Decimal("480.40")}
    assert rows["C00027"]["overdue"] == {"EUR": Decimal("480.40")}
    assert rows["C00031"]["overdue"] == {}  # due 2026-03-05, after the as-of date


def test_buckets_by_days_late(ledger):
    frame = aging.by_customer_currency(ledger, AS_OF).fetchall()
    names = [d[0] for d in aging.by_customer_currency(ledger, AS_OF).description]
    rows = {row[0]: dict(zip(names, row, strict=True)) for row in frame}
    assert rows["C00012"]["d1_30"] == Decimal("13734.56")  # 15 and 1 days late
    assert rows["C00012"]["credits"] == Decimal("-250.00")
    assert rows["C00027"]["d31_60"] == Decimal("480.40")  # 49 days late
    assert rows["C00031"]["not_due"] == Decimal("2045.10")


def test_totals_per_currency(ledger):
    totals = aging.totals(ledger, AS_OF)
    # 13484.56 + 480.40 + 2045.10 = 16010.06, the footer of the file
    assert totals["EUR"]["balance"] == Decimal("16010.06")
    assert totals["EUR"]["overdue"] == Decimal("14214.96")  # 13734.56 + 480.40


def test_an_earlier_as_of_date_sees_only_items_issued_by_then(ledger):
    # 2026-01-10: FA-2026-0041 (issued 02/01) and FA-2025-1198; not the later ones
    rows = {
        r["customer_number"]: r for r in aging.customers(ledger, dt.date(2026, 1, 10))
    }
    assert rows["C00012"]["balance"] == {"EUR": Decimal("1234.56")}
    assert "C00031" not in rows


def test_accounts_filtered_sorted_and_paged_in_sql(ledger):
    count, rows = aging.accounts(ledger, AS_OF, overdue_only=True, sort="overdue")
    assert count == 2  # C00031 owes nothing overdue
    assert [r["customer_number"] for r in rows] == ["C00012", "C00027"]
    count, rows = aging.accounts(ledger, AS_OF, text="cœur")
    assert (count, rows[0]["balance"]) == (1, Decimal("2045.10"))
    count, rows = aging.accounts(
        ledger, AS_OF, sort="balance", descending=False, limit=1
    )
    assert count == 3 and rows[0]["customer_number"] == "C00027"  # 480.40 smallest


def test_of_customer_gives_decimal_figures(ledger):
    (row,) = aging.of_customer(ledger, "C00012", AS_OF)
    assert (row["balance"], row["overdue"]) == (
        Decimal("13484.56"),
        Decimal("13734.56"),
    )


def test_account_text_filter_is_literal(ledger):
    assert aging.accounts(ledger, AS_OF, text="C000_2")[0] == 0  # "_" is no wildcard
    assert aging.accounts(ledger, AS_OF, text="%")[0] == 0
    assert aging.accounts(ledger, AS_OF, text="c00012")[0] == 1


def test_account_text_filter_ignores_accents(ledger):
    count, rows = aging.accounts(ledger, AS_OF, text="coeur")  # Cœur has a ligature
    assert count == 0  # œ is a letter of its own, not an accent
    count, rows = aging.accounts(ledger, AS_OF, text="lefevre")
    assert [r["customer_number"] for r in rows] == ["C00012"]  # Lefèvre

"""Late-payment penalties on real workspaces, every value worked out by hand.

Rates used below (data/rates/): ECB main refinancing rate 3.15 % on 1 Jan 2025 and
2.15 % on 1 Jul 2025 (fr_legal 13.15 % / 12.15 %); Basiszinssatz 3.37 % from 1 Jul
2024, 2.27 % from 1 Jan 2025, 1.27 % from 1 Jul 2025 (de_legal + 9 points); Bank of
England Bank Rate 4.75 % on 31 Dec 2024 and 4.25 % on 30 Jun 2025 (uk_legal + 8).
Interest = base x rate % x days / 365, rounded half-up to the cent once per item.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from dunning import Workspace, customers, importing, penalties, rates, store
from dunning.errors import InvalidValue, NotFound

D = Decimal
HEADER = "Code client;Raison sociale;N° pièce;Date pièce;Date échéance;Reste dû;Devise"
LETTERED = "Code client;Type pièce;N° pièce;Date pièce;Date échéance;Montant;Devise;"


def load(con, tmp_path: Path, text: str, name: str = "ledger.csv") -> None:
    """Import a small ledger written in the test (UTF-8, French conventions)."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    report = importing.import_file(con, path, importing.Options(date_order="dmy"))
    assert report.errors == [], report.errors


def by_doc(assessment: penalties.Assessment) -> dict[str, penalties.ItemPenalty]:
    return {item.doc_number: item for item in assessment.items}


def totals(assessment: penalties.Assessment, currency: str) -> tuple[str, ...]:
    """amount_selected, interest, indemnity, penalties, amount_including_penalties."""
    t = assessment.totals[currency]
    return tuple(
        f"{v:.2f}"
        for v in (
            t.amount_selected,
            t.interest,
            t.indemnity,
            t.penalties,
            t.amount_including_penalties,
        )
    )


def periods(item: penalties.ItemPenalty) -> list[tuple]:
    return [
        (p.start.isoformat(), p.end.isoformat(), p.days, f"{p.base:.2f}", str(p.rate))
        for p in item.periods
    ]


# ---------------------------------------------------------------------------
# DESIGN 7's worked example and the shared acceptance cases


@pytest.fixture
def worked(con, tmp_path):
    """C1: one invoice of 1,000.00 EUR due 2025-05-15, fr_legal, indemnity on."""
    load(con, tmp_path, f"{HEADER}\nC1;Atelier;F1;15/04/2025;15/05/2025;1 000,00;EUR\n")
    return con


def test_design_worked_example(worked):
    # 2025-05-16..06-30 = 46 days at 13.15 %, 07-01..08-14 = 45 days at 12.15 %:
    # 1000 x (13.15 x 46 + 12.15 x 45) / 36500 = 1151.65 / 36.5 = 31.5521 -> 31.55
    found = penalties.assess(worked, "C1", dt.date(2025, 8, 14))
    item = by_doc(found)["F1"]
    assert item.days_late == 91
    assert periods(item) == [
        ("2025-05-16", "2025-06-30", 46, "1000.00", "13.15"),
        ("2025-07-01", "2025-08-14", 45, "1000.00", "12.15"),
    ]
    assert [p.interest for p in item.periods] == [D("16.57"), D("14.98")]
    assert (item.interest, item.indemnity, item.indemnity_currency) == (
        D("31.55"),
        D("40.00"),
        "EUR",
    )
    assert item.penalty == D("71.55")
    assert "no dated payments" in item.note  # the basis note
    assert totals(found, "EUR") == ("1000.00", "31.55", "40.00", "71.55", "1071.55")
    assert found.rule == "fr_legal" and found.rate_note == "ECB rate + 10 points"
    assert found.warnings == ()


def test_due_half_year_setting_keeps_the_rate_of_the_due_date(worked):
    # Fell due in H1 2025: 91 days at 13.15 %: 1000 x 13.15 x 91 / 36500 = 32.7849
    store.set_setting(worked, "penalties.fr_rate_reference", "due_half_year")
    item = by_doc(penalties.assess(worked, "C1", dt.date(2025, 8, 14)))["F1"]
    assert periods(item) == [("2025-05-16", "2025-08-14", 91, "1000.00", "13.15")]
    assert (item.interest, item.penalty) == (D("32.78"), D("72.78"))


def test_case_05_credit_note_reduces_the_selection(con, data_file):
    importing.import_file(con, data_file("poste_ouverts_C00044.csv"))
    found = penalties.assess(con, "C00044", dt.date(2025, 6, 30))
    items = by_doc(found)
    assert "AV-2025-0039" not in items  # cancelled ("Annulée"): never an item
    expected = {
        # 2160 x 13.15 x 30 / 36500 = 23.3458; 1080 x 13.15 x 15 / 36500 = 5.8364
        "FA-2025-0510": (30, D("23.35"), D("40.00")),
        "FA-2025-0588": (15, D("5.84"), D("40.00")),
        "FA-2025-0602": (0, D("0.00"), D("0.00")),  # due on the as-of date
        "AV-2025-0041": (0, D("0.00"), D("0.00")),  # credits bear none
    }
    assert {
        doc: (i.days_late, i.interest, i.indemnity) for doc, i in items.items()
    } == expected
    assert items["AV-2025-0041"].open_amount == D("-360.00")
    # 2160 + 1080 + 540 - 360 = 3420; 23.35 + 5.84 = 29.19; 29.19 + 80 = 109.19
    assert totals(found, "EUR") == ("3420.00", "29.19", "80.00", "109.19", "3529.19")
    assert found.warnings == ()  # the credit note is in the selection


def test_case_07_day_count_and_the_semester_rate(con, data_file):
    importing.import_file(con, data_file("postes_C00077.csv"))
    found = penalties.assess(con, "C00077", dt.date(2025, 9, 15))
    items = by_doc(found)
    big = items["FA-2025-0412"]
    # 41 days at 13.15 % (177.2548) + 77 days at 12.15 % (307.5781) = 484.8329
    assert periods(big) == [
        ("2025-05-21", "2025-06-30", 41, "12000.00", "13.15"),
        ("2025-07-01", "2025-09-15", 77, "12000.00", "12.15"),
    ]
    assert (big.days_late, big.interest) == (118, D("484.83"))
    assert [p.interest for p in big.periods] == [D("177.25"), D("307.58")]
    due_today = items["FA-2025-0655"]
    assert (due_today.days_late, due_today.interest, due_today.indemnity) == (
        0,
        D("0.00"),
        D("0.00"),
    )
    one_day = items["FA-2025-0671"]  # 2400 x 12.15 x 1 / 36500 = 0.7989
    assert (one_day.days_late, one_day.interest, one_day.indemnity) == (
        1,
        D("0.80"),
        D("40.00"),
    )
    # 12000 + 860 + 2400 = 15260; 484.83 + 0.80 = 485.63; + 80 = 565.63
    assert totals(found, "EUR") == ("15260.00", "485.63", "80.00", "565.63", "15825.63")


def test_case_07_with_one_rate_for_the_whole_delay(con, data_file):
    # The setting "due_half_year": 12000 x 13.15 x 118 / 36500 = 510.1479 -> 510.15
    importing.import_file(con, data_file("postes_C00077.csv"))
    store.set_setting(con, "penalties.fr_rate_reference", "due_half_year")
    found = penalties.assess(con, "C00077", dt.date(2025, 9, 15))
    assert by_doc(found)["FA-2025-0412"].interest == D("510.15")
    # FA-2025-0671 fell due on 2025-09-14 (H2): 12.15 % as before, 0.80
    assert by_doc(found)["FA-2025-0671"].interest == D("0.80")


def test_case_16_half_cents_round_up_per_item(con, data_file):
    importing.import_file(con, data_file("postes_C00130.csv"))
    importing.import_file(con, data_file("lettrage_centimes.csv"))
    found = penalties.assess(con, "C00130", dt.date(2025, 9, 26))
    # 73 days: 1150 x 0.1215 x 0.2 = 27.945, 2250 -> 54.675, 3350 -> 81.405
    assert [i.interest for i in found.items] == [D("27.95"), D("54.68"), D("81.41")]
    assert all(i.days_late == 73 for i in found.items)
    # 27.95 + 54.68 + 81.41 = 164.04 (not 164.03 from the exact sum 164.025)
    assert totals(found, "EUR") == ("6750.00", "164.04", "120.00", "284.04", "7034.04")
    # C00131: both lettering groups balance to 0.00: nothing open, nothing charged.
    settled = penalties.assess(con, "C00131", dt.date(2025, 9, 26))
    assert (settled.items, settled.totals) == ((), {})


def test_period_shares_add_up_to_the_item_interest(con, tmp_path):
    # The demo's FA-2025-2044: 4,987.82 EUR due 2025-11-18, as-of 2026-12-03, all at
    # 12.15 % (ECB 2.15 % on 1 Jul 2025 and since). 4987.82 x 12.15 = 60602.013;
    # 2025-11-19..12-31 = 43 days, 2026-01-01..06-30 = 181, 07-01..12-03 = 156.
    # Exact item interest: 60602.013 x 380 / 36500 = 630.9251 -> 630.93.
    # Rounded on their own the periods give 71.3942 -> 71.39, 300.5196 -> 300.52,
    # 259.0113 -> 259.01: 630.92, a cent short. Running sums instead:
    # 43 days 71.3942 -> 71.39; 224 days 371.9137 -> 371.91; 380 days -> 630.93;
    # shares 71.39, 371.91 - 71.39 = 300.52, 630.93 - 371.91 = 259.02.
    load(con, tmp_path, f"{HEADER}\nC8;Demo;FA-1;19/10/2025;18/11/2025;4 987,82;EUR\n")
    item = penalties.assess(con, "C8", dt.date(2026, 12, 3)).items[0]
    assert [(p.days, str(p.rate)) for p in item.periods] == [
        (43, "12.15"),
        (181, "12.15"),
        (156, "12.15"),
    ]
    assert item.interest == D("630.93")
    assert [p.interest for p in item.periods] == [D("71.39"), D("300.52"), D("259.02")]
    assert sum(p.interest for p in item.periods) == item.interest


def _random_ledger(seed: int, count: int) -> tuple[str, list[dt.date]]:
    """Invoices of random amounts and due dates, some partly paid on a random day
    (lettered), for four customers, and the as-of dates to assess them at."""
    pick = random.Random(seed)
    lines = [f"{LETTERED}Lettrage;Statut"]
    start = dt.date(2023, 1, 1)
    for n in range(count):
        customer = ("PF", "PD", "PU", "PX")[n % 4]
        due = start + dt.timedelta(days=pick.randrange(1200))
        cents = pick.randrange(1, 10_000_000)
        amount = f"{cents // 100},{cents % 100:02d}"
        letter = f"L{n}" if pick.random() < 0.4 else ""
        lines.append(
            f"{customer};Facture;F-{n};{due - dt.timedelta(days=30):%d/%m/%Y};"
            f"{due:%d/%m/%Y};{amount};EUR;{letter};"
        )
        if letter:
            paid = pick.randrange(1, cents)
            on = due + dt.timedelta(days=pick.randrange(-20, 300))
            lines.append(
                f"{customer};Règlement;R-{n};{on:%d/%m/%Y};;"
                f"-{paid // 100},{paid % 100:02d};EUR;{letter};"
            )
    as_of = [start + dt.timedelta(days=pick.randrange(100, 1400)) for _ in range(4)]
    return "\n".join(lines) + "\n", as_of


@pytest.mark.parametrize("fr_reference", ["split", "due_half_year"])
def test_period_shares_always_add_up_to_the_item_interest(con, tmp_path, fr_reference):
    # Property: whatever the amounts, dates, payments and rule, the periods' shares
    # add up to the item's interest, which is the exact sum of base x rate x days /
    # 36500 over the periods rounded half-up once; each share is within a cent of
    # its own exact value.
    text, as_of_dates = _random_ledger(seed=20261203, count=240)
    load(con, tmp_path, text)
    customers.update(con, "PD", {"penalty_rule": "de_legal"})
    customers.update(con, "PU", {"penalty_rule": "uk_legal"})
    customers.update(con, "PX", {"penalty_rule": "fixed", "penalty_rate": "9,875"})
    store.set_setting(con, "penalties.fr_rate_reference", fr_reference)
    checked = 0
    for as_of in as_of_dates:
        for number in ("PF", "PD", "PU", "PX"):
            for item in penalties.assess(con, number, as_of).items:
                numerators = [p.base * p.rate * p.days for p in item.periods]
                exact = sum(numerators, D(0)) / 36500
                assert item.interest == exact.quantize(D("0.01"), ROUND_HALF_UP)
                assert sum((p.interest for p in item.periods), D(0)) == item.interest
                for period, numerator in zip(item.periods, numerators, strict=True):
                    assert abs(period.interest - numerator / 36500) < D("0.01")
                checked += bool(item.periods)
    assert checked > 300  # enough late items with periods to mean something


# ---------------------------------------------------------------------------
# The day after


@pytest.mark.parametrize(
    ("as_of", "days", "interest", "indemnity"),
    [
        ("2025-09-13", 0, "0.00", "0.00"),  # before the due date
        ("2025-09-14", 0, "0.00", "0.00"),  # due on the as-of date: not late
        ("2025-09-15", 1, "0.80", "40.00"),  # 2400 x 12.15 x 1 / 36500 = 0.7989
        ("2025-09-16", 2, "1.60", "40.00"),  # 2400 x 12.15 x 2 / 36500 = 1.5978
    ],
)
def test_the_first_late_day_is_the_day_after_the_due_date(
    con, tmp_path, as_of, days, interest, indemnity
):
    load(con, tmp_path, f"{HEADER}\nC9;Neuf;F9;15/08/2025;14/09/2025;2 400,00;EUR\n")
    item = penalties.assess(con, "C9", dt.date.fromisoformat(as_of)).items[0]
    assert (item.days_late, f"{item.interest}", f"{item.indemnity}") == (
        days,
        interest,
        indemnity,
    )
    assert len(item.periods) == (1 if days else 0)


# ---------------------------------------------------------------------------
# Dated partial payments


@pytest.fixture
def paid(con, tmp_path):
    """C2: invoice 1,000.00 due 2025-03-31; 400.00 paid on 03-15, 300.00 on 05-10;
    an unmatched payment RG-9 of 150.00 on 05-20; a disputed invoice of 500.00."""
    load(
        con,
        tmp_path,
        f"{LETTERED}Lettrage;Statut\n"
        "C2;Facture;FA-1;01/03/2025;31/03/2025;1 000,00;EUR;AA;\n"
        "C2;Règlement;RG-1;15/03/2025;;-400,00;EUR;AA;\n"
        "C2;Règlement;RG-2;10/05/2025;;-300,00;EUR;AA;\n"
        "C2;Facture;FA-2;01/03/2025;31/03/2025;500,00;EUR;;Litige\n"
        "C2;Règlement;RG-9;20/05/2025;;-150,00;EUR;;\n",
    )
    return con


def test_partial_payments_before_and_after_the_due_date(paid):
    found = penalties.assess(paid, "C2", dt.date(2025, 6, 30))
    item = by_doc(found)["FA-1"]
    # 400 paid before the due date: the base is 600 from 04-01. Paid 300 on 05-10:
    # 04-01..05-10 = 40 days on 600, 05-11..06-30 = 51 days on 300, all at 13.15 %:
    # (600 x 13.15 x 40 + 300 x 13.15 x 51) / 36500 = 516795 / 36500 = 14.1588
    assert periods(item) == [
        ("2025-04-01", "2025-05-10", 40, "600.00", "13.15"),
        ("2025-05-11", "2025-06-30", 51, "300.00", "13.15"),
    ]
    assert (item.open_amount, item.days_late) == (D("300.00"), 91)
    assert (item.interest, item.indemnity, item.penalty) == (
        D("14.16"),
        D("40.00"),  # the full 40 EUR stays due after a partial payment
        D("54.16"),
    )
    assert "dated payment" in item.note


def test_a_payment_after_the_as_of_date_is_not_made_yet(paid):
    # At 2025-05-05 the 300 of 05-10 is unpaid: open 600, 35 days on 600:
    # 600 x 13.15 x 35 / 36500 = 7.5658 -> 7.57
    item = by_doc(penalties.assess(paid, "C2", dt.date(2025, 5, 5)))["FA-1"]
    assert item.open_amount == D("600.00")
    assert periods(item) == [("2025-04-01", "2025-05-05", 35, "600.00", "13.15")]
    assert item.interest == D("7.57")
    assert "not made yet" in item.note


def test_unmatched_payment_outside_the_selection_is_a_warning(paid):
    (fa1,) = penalties.item_ids(paid, "C2", ["FA-1"])
    found = penalties.assess(paid, "C2", dt.date(2025, 6, 30), [fa1])
    assert any("RG-9 -150.00 EUR" in w for w in found.warnings)
    # Selected with it, it lowers the amount selected and bears nothing:
    # 300 + 500 - 150 = 650; the disputed FA-2 bears nothing by default.
    every = penalties.assess(paid, "C2", dt.date(2025, 6, 30))
    assert not any("unapplied" in w for w in every.warnings)
    assert by_doc(every)["RG-9"].interest == D("0.00")
    assert totals(every, "EUR") == ("650.00", "14.16", "40.00", "54.16", "704.16")


def test_disputed_items_are_excluded_unless_included(paid):
    found = penalties.assess(paid, "C2", dt.date(2025, 6, 30))
    disputed = by_doc(found)["FA-2"]
    assert (disputed.interest, disputed.indemnity) == (D("0.00"), D("0.00"))
    assert "disputed" in disputed.note
    assert any("FA-2 is disputed" in w for w in found.warnings)

    # Included: 500 x 13.15 x 91 / 36500 = 16.3925 -> 16.39, plus 40 EUR.
    found = penalties.assess(paid, "C2", dt.date(2025, 6, 30), include_disputed=True)
    disputed = by_doc(found)["FA-2"]
    assert (disputed.interest, disputed.indemnity) == (D("16.39"), D("40.00"))
    # 14.16 + 16.39 = 30.55 interest; 80.00 indemnity; 650 + 110.55 = 760.55
    assert totals(found, "EUR") == ("650.00", "30.55", "80.00", "110.55", "760.55")
    assert not any("disputed" in w for w in found.warnings)


# ---------------------------------------------------------------------------
# Other rules


def test_german_rule_splits_at_each_half_year(con, tmp_path):
    load(
        con,
        tmp_path,
        f"{HEADER}\n"
        "D1;GmbH;R-1;10/05/2025;10/06/2025;10 000,00;EUR\n"
        "D1;GmbH;R-2;15/11/2024;15/12/2024;2 000,00;EUR\n",
    )
    customers.update(con, "D1", {"penalty_rule": "de_legal"})
    found = penalties.assess(con, "D1", dt.date(2025, 7, 20))
    items = by_doc(found)
    # 06-11..06-30 = 20 days at 2.27 + 9 = 11.27 %, 07-01..07-20 = 20 days at
    # 1.27 + 9 = 10.27 %: 10000 x (11.27 x 20 + 10.27 x 20) / 36500 = 118.0274
    assert periods(items["R-1"]) == [
        ("2025-06-11", "2025-06-30", 20, "10000.00", "11.27"),
        ("2025-07-01", "2025-07-20", 20, "10000.00", "10.27"),
    ]
    assert items["R-1"].interest == D("118.03")
    # 12-16..12-31 = 16 days at 3.37 + 9 = 12.37 %, 2025-01-01..06-30 = 181
    # days at 11.27 %, 07-01..07-20 = 20 days at 10.27 %:
    # 2000 x (12.37 x 16 + 11.27 x 181 + 10.27 x 20) / 36500
    # = 2000 x (197.92 + 2039.87 + 205.40) / 36500 = 4886380 / 36500 = 133.8734
    assert [p.days for p in items["R-2"].periods] == [16, 181, 20]
    assert items["R-2"].interest == D("133.87")
    assert found.rate_note == "Basiszinssatz + 9 points"
    # 118.03 + 133.87 = 251.90; 2 x 40 EUR (BGB 288(5)) = 80.00
    assert totals(found, "EUR") == ("12000.00", "251.90", "80.00", "331.90", "12331.90")


def test_german_rule_towards_a_consumer(con, tmp_path):
    # BGB 288(1): base rate + 5 points and no flat fee. 20 days at 7.27 % and 20 at
    # 6.27 %: 10000 x (7.27 x 20 + 6.27 x 20) / 36500 = 2708000 / 36500 = 74.1918
    load(con, tmp_path, f"{HEADER}\nD2;Herr;R-9;10/05/2025;10/06/2025;10 000,00;EUR\n")
    customers.update(con, "D2", {"penalty_rule": "de_legal", "is_consumer": True})
    item = penalties.assess(con, "D2", dt.date(2025, 7, 20)).items[0]
    assert [str(p.rate) for p in item.periods] == ["7.27", "6.27"]
    assert (item.interest, item.indemnity) == (D("74.19"), D("0.00"))


def test_uk_rule_fixes_the_rate_and_the_sum_by_debt_size(con, tmp_path):
    load(
        con,
        tmp_path,
        f"{HEADER}\n"
        "U1;UK Ltd;INV-1;15/01/2025;14/02/2025;5 000,00;GBP\n"
        "U1;UK Ltd;INV-2;01/07/2025;31/07/2025;800,00;GBP\n"
        "U1;UK Ltd;INV-3;31/05/2025;30/06/2025;12 000,00;GBP\n",
    )
    customers.update(con, "U1", {"penalty_rule": "uk_legal", "currency": "GBP"})
    found = penalties.assess(con, "U1", dt.date(2025, 8, 14))
    items = by_doc(found)
    # INV-1 falls overdue on 2025-02-15 (H1): Bank Rate on 31 Dec 2024 4.75 + 8 =
    # 12.75 % for the whole debt, no split on 1 July; 181 days:
    # 5000 x 12.75 x 181 / 36500 = 316.1301 -> 316.13; 70 GBP (1,000 to 9,999.99)
    assert periods(items["INV-1"]) == [
        ("2025-02-15", "2025-08-14", 181, "5000.00", "12.75")
    ]
    assert (items["INV-1"].interest, items["INV-1"].indemnity) == (
        D("316.13"),
        D("70.00"),
    )
    # INV-2 overdue from 2025-08-01 (H2): rate on 30 Jun 2025 4.25 + 8 = 12.25 %;
    # 14 days: 800 x 12.25 x 14 / 36500 = 3.7589 -> 3.76; 40 GBP (under 1,000)
    assert (items["INV-2"].interest, items["INV-2"].indemnity) == (
        D("3.76"),
        D("40.00"),
    )
    # INV-3 due 30 Jun, overdue from 1 Jul (H2): 12.25 %, 45 days:
    # 12000 x 12.25 x 45 / 36500 = 181.2329 -> 181.23; 100 GBP (from 10,000)
    assert (items["INV-3"].interest, items["INV-3"].indemnity) == (
        D("181.23"),
        D("100.00"),
    )
    assert {i.indemnity_currency for i in found.items} == {"GBP"}
    assert items["INV-3"].penalty == D("281.23")
    # 17800; 316.13 + 3.76 + 181.23 = 501.12; 70 + 40 + 100 = 210; 711.12
    expected = ("17800.00", "501.12", "210.00", "711.12", "18511.12")
    assert totals(found, "GBP") == expected
    assert set(found.totals) == {"GBP"}


@pytest.mark.parametrize(
    ("amount", "fixed_sum"),
    [
        ("999,99", "40.00"),
        ("1 000,00", "70.00"),
        ("9 999,99", "70.00"),
        ("10 000,00", "100.00"),
    ],
)
def test_uk_fixed_sum_bands(con, tmp_path, amount, fixed_sum):
    load(con, tmp_path, f"{HEADER}\nU2;UK;INV-9;15/01/2025;14/02/2025;{amount};GBP\n")
    customers.update(con, "U2", {"penalty_rule": "uk_legal"})
    item = penalties.assess(con, "U2", dt.date(2025, 3, 1)).items[0]
    assert (f"{item.indemnity}", item.indemnity_currency) == (fixed_sum, "GBP")


def test_fixed_rule_has_no_half_year_split(worked):
    # 12.5 % for the 91 days: 1000 x 12.5 x 91 / 36500 = 31.1644 -> 31.16; the
    # 40 EUR indemnity stays (a contract sets the rate, not the recovery sum).
    customers.update(worked, "C1", {"penalty_rule": "fixed", "penalty_rate": "12,5"})
    found = penalties.assess(worked, "C1", dt.date(2025, 8, 14))
    item = found.items[0]
    assert periods(item) == [("2025-05-16", "2025-08-14", 91, "1000.00", "12.50")]
    assert (item.interest, item.indemnity) == (D("31.16"), D("40.00"))
    assert found.rate_note == "contractual rate 12.50 %"
    assert found.warnings == ()


def test_rule_none_charges_nothing(worked):
    customers.update(worked, "C1", {"penalty_rule": "none"})
    found = penalties.assess(worked, "C1", dt.date(2025, 8, 14))
    item = found.items[0]
    assert (item.interest, item.indemnity, item.periods) == (D("0.00"), D("0.00"), ())
    assert "rule none" in item.note
    assert totals(found, "EUR") == ("1000.00", "0.00", "0.00", "0.00", "1000.00")


@pytest.mark.parametrize(
    "change",
    [{"is_consumer": True}, {"in_insolvency": True}, {"indemnity_enabled": False}],
)
def test_no_indemnity_for_consumers_insolvency_or_when_off(worked, change):
    customers.update(worked, "C1", change)
    item = penalties.assess(worked, "C1", dt.date(2025, 8, 14)).items[0]
    # The interest stays 31.55 (fr_legal); only the fixed 40 EUR goes.
    assert (item.interest, item.indemnity, item.indemnity_currency) == (
        D("31.55"),
        D("0.00"),
        None,
    )
    assert item.penalty == D("31.55")


# ---------------------------------------------------------------------------
# Currencies, selections, warnings


def test_three_currencies_with_the_indemnity_under_eur(con, tmp_path):
    load(
        con,
        tmp_path,
        f"{HEADER}\n"
        "M1;Multi;E-1;15/04/2025;15/05/2025;1 000,00;EUR\n"
        "M1;Multi;U-1;15/06/2025;15/07/2025;2 000,00;USD\n"
        "M1;Multi;G-1;31/05/2025;30/06/2025;500,00;GBP\n",
    )
    found = penalties.assess(con, "M1", dt.date(2025, 8, 14))
    items = by_doc(found)
    # E-1: the worked example, 31.55 + 40.00.
    # U-1: 30 days at 12.15 %: 2000 x 12.15 x 30 / 36500 = 19.9726 -> 19.97 USD
    # G-1: 45 days at 12.15 %: 500 x 12.15 x 45 / 36500 = 7.4897 -> 7.49 GBP
    assert (items["U-1"].interest, items["U-1"].penalty) == (D("19.97"), D("19.97"))
    assert (items["G-1"].interest, items["G-1"].penalty) == (D("7.49"), D("7.49"))
    assert {i.indemnity_currency for i in found.items} == {"EUR"}
    assert totals(found, "EUR") == ("1000.00", "31.55", "120.00", "151.55", "1151.55")
    assert totals(found, "USD") == ("2000.00", "19.97", "0.00", "19.97", "2019.97")
    assert totals(found, "GBP") == ("500.00", "7.49", "0.00", "7.49", "507.49")


def test_items_of_another_customer_or_unknown_are_refused(con, data_file):
    importing.import_file(con, data_file("postes_C00077.csv"))
    importing.import_file(con, data_file("postes_C00130.csv"))
    other = penalties.item_ids(con, "C00130", ["FA-2025-0650"])
    with pytest.raises(InvalidValue, match="do not belong to customer C00077"):
        penalties.assess(con, "C00077", dt.date(2025, 9, 15), other)
    with pytest.raises(NotFound, match="no document numbered NOPE"):
        penalties.item_ids(con, "C00077", ["FA-2025-0412", "NOPE"])
    with pytest.raises(NotFound):
        penalties.assess(con, "C99999", dt.date(2025, 9, 15))


def test_an_item_not_open_at_the_as_of_date_is_left_out_with_a_warning(con, data_file):
    importing.import_file(con, data_file("postes_C00077.csv"))
    ids = penalties.item_ids(con, "C00077", ["FA-2025-0412", "FA-2025-0655"])
    # FA-2025-0655 is issued on 2025-08-16: not yet an item at 2025-08-01.
    found = penalties.assess(con, "C00077", dt.date(2025, 8, 1), ids)
    assert [i.doc_number for i in found.items] == ["FA-2025-0412"]
    assert any("FA-2025-0655 is not open" in w for w in found.warnings)


def test_assess_many_groups_by_customer(con, data_file):
    importing.import_file(con, data_file("postes_C00077.csv"))
    importing.import_file(con, data_file("postes_C00130.csv"))
    ids = penalties.item_ids(con, "C00077", ["FA-2025-0412"])
    ids += penalties.item_ids(con, "C00130", ["FA-2025-0650", "FA-2025-0651"])
    found = penalties.assess_many(con, ids, dt.date(2025, 9, 26))
    assert set(found) == {"C00077", "C00130"}
    # C00077 FA-2025-0412 at 2025-09-26: 41 days at 13.15 % + 88 days at 12.15 %:
    # 12000 x (13.15 x 41 + 12.15 x 88) / 36500 = 12000 x 1608.35 / 36500 = 528.7726
    assert found["C00077"].items[0].interest == D("528.77")
    assert totals(found["C00130"], "EUR") == (
        "3400.00",
        "82.63",  # 27.95 + 54.68
        "80.00",
        "162.63",
        "3562.63",
    )


def test_workspace_penalties_by_document_number(tmp_path, data_file):
    with Workspace.open(tmp_path / "ws.duckdb") as ws:
        ws.import_file(data_file("postes_C00077.csv"))
        found = ws.penalties("C00077", items=["FA-2025-0671"], as_of="2025-09-15")
        assert [i.interest for i in found.items] == [D("0.80")]
        assert totals(found, "EUR") == ("2400.00", "0.80", "40.00", "40.80", "2440.80")


def _after(day: dt.date) -> dt.date:
    """The first day of the half-year after the one holding `day`."""
    return dt.date(day.year, 7, 1) if day.month <= 6 else dt.date(day.year + 1, 1, 1)


@pytest.mark.parametrize(
    ("rule", "table"),
    [("fr_legal", "ecb"), ("de_legal", "de_base"), ("uk_legal", "boe")],
)
def test_rate_table_out_of_date_warns_and_names_the_file(rule, table):
    checked = rates.table(table).checked_through
    later = _after(checked)
    warnings = penalties.rate_warnings(rule, [later])
    assert len(warnings) == 1
    assert f"data/rates/{rates.FILES[table]}" in warnings[0]
    assert later.isoformat() in warnings[0]
    assert penalties.rate_warnings(rule, [checked]) == []
    assert penalties.rate_warnings(rule, [dt.date(2024, 12, 31)]) == []
    assert penalties.rate_warnings(rule, []) == []


def test_a_day_before_the_table_starts_has_no_rate(con, tmp_path):
    # The ECB table starts on 2016-03-16: 1 January 2016 has no rate in it.
    warnings = penalties.rate_warnings("fr_legal", [dt.date(2016, 1, 1)])
    assert warnings == [
        "The ECB main refinancing rate table (data/rates/ecb_mro.csv) has no rate in "
        "force on 2016-01-01: add the rates before 2016-03-16 to it."
    ]


def test_rate_warning_reaches_the_assessment(worked):
    # An as-of date in a half-year after the ECB table was last checked: the split
    # periods of F1 run into that half-year and read its 1 January / 1 July rate.
    far = _after(rates.table("ecb").checked_through) + dt.timedelta(days=150)
    found = penalties.assess(worked, "C1", far)
    assert any("data/rates/ecb_mro.csv" in w for w in found.warnings)
    assert penalties.rate_warnings("fixed", [far]) == []
    assert penalties.rate_warnings("none", [far]) == []


def test_no_rate_warning_when_no_period_reads_the_unchecked_rate(worked, tmp_path):
    # F1 fell due in H1 2025; with due_half_year it reads the rate of 2025-01-01
    # for its whole delay, so a far as-of date needs no rate past the table.
    far = _after(rates.table("ecb").checked_through) + dt.timedelta(days=150)
    store.set_setting(worked, "penalties.fr_rate_reference", "due_half_year")
    found = penalties.assess(worked, "C1", far)
    assert not any("checked through" in w for w in found.warnings)
    # Nothing late at all (due after the as-of date): no period, no warning.
    load(worked, tmp_path, f"{HEADER}\nC3;Tard;F3;01/01/2025;31/12/2099;10,00;EUR\n")
    assert penalties.assess(worked, "C3", far).warnings == ()


def test_uk_warning_follows_the_day_each_debt_fell_overdue(con, tmp_path):
    # UK-NEW falls due on the first day of the second half-year after the table's
    # checked-through date and overdue the day after: it reads the rate of the
    # last day of the half-year before, which lies past the checked-through date.
    due = _after(_after(rates.table("boe").checked_through))
    reference = due - dt.timedelta(days=1)  # 30 June or 31 December
    issued = due - dt.timedelta(days=30)
    load(
        con,
        tmp_path,
        f"{HEADER}\n"
        "U5;UK;UK-OLD;10/02/2025;10/03/2025;1 000,00;GBP\n"
        f"U5;UK;UK-NEW;{issued:%d/%m/%Y};{due:%d/%m/%Y};500,00;GBP\n",
    )
    customers.update(con, "U5", {"penalty_rule": "uk_legal"})

    # UK-OLD due 2025-03-10 falls overdue on 2025-03-11 (H1): the Bank Rate of
    # 31 Dec 2024 (4.75 + 8 = 12.75 %) for the whole debt, a confirmed rate, even
    # at an as-of date (2026-12-01) whose own half-year is past the table.
    found = penalties.assess(con, "U5", dt.date(2026, 12, 1))
    items = by_doc(found)
    assert items["UK-OLD"].rate_days == (dt.date(2024, 12, 31),)
    assert [str(p.rate) for p in items["UK-OLD"].periods] == ["12.75"]
    assert [doc for doc, i in items.items() if i.periods] == ["UK-OLD"]
    assert found.warnings == ()

    # Once UK-NEW is late too, it alone brings the warning.
    found = penalties.assess(con, "U5", due + dt.timedelta(days=30))
    items = by_doc(found)
    assert items["UK-OLD"].rate_days == (dt.date(2024, 12, 31),)
    assert items["UK-NEW"].rate_days == (reference,)
    warned = [w for w in found.warnings if "checked through" in w]
    assert len(warned) == 1 and "data/rates/boe_bank_rate.csv" in warned[0]
    assert f"the rate in force on {reference.isoformat()}:" in warned[0]


def test_german_warning_only_for_the_half_years_a_period_covers(con, tmp_path):
    # R-1 falls overdue on 2025-06-11. Assessed at the table's checked-through date,
    # its periods read the rates of 2025-01-01, 2025-07-01 and each later 1 January
    # / 1 July up to that date: all confirmed, no warning.
    load(con, tmp_path, f"{HEADER}\nD5;GmbH;R-1;10/05/2025;10/06/2025;1 000,00;EUR\n")
    customers.update(con, "D5", {"penalty_rule": "de_legal"})
    checked = rates.table("de_base").checked_through
    assert penalties.assess(con, "D5", checked).warnings == ()
    # On the first day of the next half-year, the period of that day reads a rate
    # past the table.
    later = _after(checked)
    found = penalties.assess(con, "D5", later)
    assert later in found.items[0].rate_days
    assert [w for w in found.warnings if "data/rates/de_basiszinssatz.csv" in w]


def test_json_form_of_an_assessment(worked):
    data = penalties.as_json(penalties.assess(worked, "C1", dt.date(2025, 8, 14)))
    assert data["items"] == [
        {
            "doc_number": "F1",
            "currency": "EUR",
            "open_amount": "1000.00",
            "days_late": 91,
            "interest": "31.55",
            "indemnity": "40.00",
            "penalty": "71.55",
            "periods": [
                {
                    "start": "2025-05-16",
                    "end": "2025-06-30",
                    "days": 46,
                    "base": "1000.00",
                    "rate": "13.15",
                    "interest": "16.57",  # 1000 x 13.15 x 46 / 36500 = 16.5726
                },
                {
                    "start": "2025-07-01",
                    "end": "2025-08-14",
                    "days": 45,
                    "base": "1000.00",
                    "rate": "12.15",
                    "interest": "14.98",  # 1000 x 12.15 x 45 / 36500 = 14.9795
                },
            ],
        }
    ]
    assert data["totals"] == {
        "EUR": {
            "amount_selected": "1000.00",
            "interest": "31.55",
            "indemnity": "40.00",
            "penalties": "71.55",
            "amount_including_penalties": "1071.55",
        }
    }
    assert data["warnings"] == []

"""Ledger import: the acceptance cases, public data, Excel, Parquet and the rules."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dunning import aging, columns, customers, importing, ledger
from dunning.errors import (
    AlreadyImported,
    AmbiguousDateOrder,
    ImportRefused,
    NotFound,
)

D = dt.date
ROOT = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data"
IBM = "WA_Fn-UseC_-Accounts-Receivable.csv"


def load(con, path: Path, **options) -> importing.Report:
    return importing.import_file(con, path, importing.Options(**options))


def open_items(con, as_of: dt.date) -> dict[str, dict]:
    """The open items at the as-of date, by document number."""
    cursor = con.execute(
        f"SELECT *, {ledger.overdue_sql()} AS overdue FROM ({ledger.items_at()})",
        {"as_of": as_of},
    )
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return {row["doc_number"]: row for row in rows}


def balances(con, as_of: dt.date) -> dict[str, dict[str, Decimal]]:
    return {c["customer_number"]: c["balance"] for c in aging.customers(con, as_of)}


def overdue(con, as_of: dt.date) -> dict[str, dict[str, Decimal]]:
    return {c["customer_number"]: c["overdue"] for c in aging.customers(con, as_of)}


def stored(con, sql: str = "") -> list[tuple]:
    return con.execute(
        "SELECT customer_number, doc_type, doc_number, issue_date, due_date, amount, "
        f"open_amount, currency, status, paid_date FROM items {sql} "
        "ORDER BY customer_number, doc_number"
    ).fetchall()


def write_csv(tmp_path: Path, text: str, name: str = "ledger.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


# ---------------------------------------------------------------------------
# Case 01: cp1252, ';', no-break space thousands, a footer total row

CASE_01 = "echeancier_clients_cp1252.csv"


@pytest.fixture
def case_01(con, data_file):
    return load(con, data_file(CASE_01))


@pytest.mark.parametrize(
    ("doc_number", "doc_type", "amount", "open_amount", "due_date"),
    [
        ("FA-2026-0041", "invoice", "1234.56", "1234.56", D(2026, 1, 31)),
        ("FA-2026-0077", "invoice", "12500.00", "12500.00", D(2026, 2, 14)),
        ("AV-2026-0003", "credit_note", "-250.00", "-250.00", D(2026, 1, 20)),
        pytest.param(
            "FA-2025-1198",
            "invoice",
            "980.40",
            "480.40",
            D(2025, 12, 28),
            id="open = Reste dû 480.40, not Montant TTC 980.40",
        ),
        ("FA-2026-0102", "invoice", "2045.10", "2045.10", D(2026, 3, 5)),
    ],
)
def test_case_01_items(
    con, case_01, doc_number, doc_type, amount, open_amount, due_date
):
    row = con.execute(
        "SELECT doc_type, amount, open_amount, due_date, currency FROM items "
        "WHERE doc_number = ?",
        [doc_number],
    ).fetchone()
    assert row == (doc_type, Decimal(amount), Decimal(open_amount), due_date, "EUR")


def test_case_01_has_exactly_five_items_and_the_footer_as_a_warning(con, case_01):
    """Σ Montant TTC = 1234.56 + 12500.00 - 250.00 + 980.40 + 2045.10 = 16510.06;
    Σ Reste dû = 1234.56 + 12500.00 - 250.00 + 480.40 + 2045.10 = 16010.06 (footer)."""
    assert con.execute("SELECT count(*) FROM items").fetchone()[0] == 5
    assert (case_01.rows_loaded, case_01.rows_rejected, case_01.errors) == (5, 0, [])
    totals = con.execute("SELECT sum(amount), sum(open_amount) FROM items").fetchone()
    assert totals == (Decimal("16510.06"), Decimal("16010.06"))
    footer = [w for w in case_01.warnings if w["line"] == 7]
    assert len(footer) == 1
    assert footer[0]["value"] == "Total général"
    assert "total row" in footer[0]["message"]


def test_case_01_text_round_trips(con, case_01):
    names = dict(con.execute("SELECT customer_number, name FROM customers").fetchall())
    assert names == {
        "C00012": "Boulangerie Lefèvre & Fils",
        "C00027": "Société Générale d'Équipement Rhône",
        "C00031": "Cœur de Lion SARL",
    }
    references = dict(con.execute("SELECT doc_number, reference FROM items").fetchall())
    assert references["FA-2026-0041"] == "Pains spéciaux — janvier"
    assert references["FA-2026-0077"] == "Four mixte 12 500 € HT remisé"
    assert references["FA-2026-0102"] == "Livraison; palettes et emballages"
    text = " ".join(names.values()) + " ".join(references.values())
    for broken in ("\ufffd", "\x80", "\x97", "\x9c", "Å“", "Ã"):
        assert broken not in text


def test_case_01_balances(con, case_01):
    """C00012 = 1234.56 + 12500.00 - 250.00 = 13484.56; C00027 = 980.40 - 500.00."""
    assert balances(con, D(2026, 2, 15)) == {
        "C00012": {"EUR": Decimal("13484.56")},
        "C00027": {"EUR": Decimal("480.40")},
        "C00031": {"EUR": Decimal("2045.10")},
    }


@pytest.mark.parametrize(
    ("doc_number", "days_late", "is_overdue"),
    [
        pytest.param("FA-2025-1198", 49, True, id="2026-02-15 - 2025-12-28 = 49"),
        pytest.param("FA-2026-0041", 15, True, id="2026-02-15 - 2026-01-31 = 15"),
        pytest.param("FA-2026-0077", 1, True, id="2026-02-15 - 2026-02-14 = 1"),
        pytest.param("FA-2026-0102", 0, False, id="due 2026-03-05: not due"),
        pytest.param("AV-2026-0003", 0, False, id="credit note never overdue"),
    ],
)
def test_case_01_days_late(con, case_01, doc_number, days_late, is_overdue):
    item = open_items(con, D(2026, 2, 15))[doc_number]
    assert (item["days_late"], item["overdue"]) == (days_late, is_overdue)


def test_case_01_overdue_per_customer(con, case_01):
    """C00012: 1234.56 + 12500.00 = 13734.56 (the credit note is not overdue)."""
    assert overdue(con, D(2026, 2, 15)) == {
        "C00012": {"EUR": Decimal("13734.56")},
        "C00027": {"EUR": Decimal("480.40")},
        "C00031": {},
    }


# ---------------------------------------------------------------------------
# Case 02: UTF-8 with BOM, narrow no-break space

CASE_02 = "export_excel_csv_utf8.csv"


def test_case_02_columns_have_no_bom(con, data_file):
    report = importing.preview_file(con, data_file(CASE_02))
    assert report.columns == [
        "N° client",
        "Nom",
        "Pièce",
        "Échéance",
        "Montant",
        "Devise",
    ]
    assert report.mapping["customer_number"] == "N° client"
    assert not report.committed
    assert con.execute("SELECT count(*) FROM items").fetchone()[0] == 0


@pytest.mark.parametrize(
    "mapping",
    [
        pytest.param(None, id="detected"),
        pytest.param(
            {
                "customer_number": "N° client",
                "customer_name": "Nom",
                "doc_number": "Pièce",
                "due_date": "Échéance",
                "amount": "Montant",
                "currency": "Devise",
            },
            id="mapped by name",
        ),
    ],
)
def test_case_02_amounts(con, data_file, mapping):
    """3150.00 + 1020.00 + 89.90 = 4259.90; C00140 = 3150.00 + 1020.00 = 4170.00."""
    report = load(con, data_file(CASE_02), mapping=mapping)
    assert (report.rows_loaded, report.errors) == (3, [])
    rows = con.execute(
        "SELECT doc_number, customer_number, open_amount, currency, due_date "
        "FROM items ORDER BY doc_number"
    ).fetchall()
    assert rows == [
        ("FA-2026-0201", "C00140", Decimal("3150.00"), "EUR", D(2026, 2, 15)),
        ("FA-2026-0219", "C00140", Decimal("1020.00"), "EUR", D(2026, 2, 28)),
        ("FA-2026-0230", "C00152", Decimal("89.90"), "EUR", D(2026, 3, 10)),
    ]
    assert balances(con, D(2026, 2, 15)) == {
        "C00140": {"EUR": Decimal("4170.00")},
        "C00152": {"EUR": Decimal("89.90")},
    }


# ---------------------------------------------------------------------------
# Case 04: FEC, lettering

FEC_FILES = ["123456789FEC20251231.txt", "123456789FEC20251231_pipe_utf8.txt"]
FEC_OPEN = {
    ("00012", "FA-2025-0355"): ("1880.00", "EUR"),  # AB: 2880.00 - 1000.00
    ("00027", "FA-2024-1187"): ("350.00", "EUR"),
    ("00027", "FA-2025-0402"): ("6000.00", "EUR"),
    ("00027", "AV-2025-0017"): ("-600.00", "EUR"),
    ("00027", "VIR-0505-C"): ("-2000.00", "EUR"),
    ("00031", "FA-2025-0420"): ("2000.00", "USD"),  # Montantdevise / Idevise
}


@pytest.mark.parametrize("name", FEC_FILES)
def test_case_04_open_items(con, data_file, name):
    load(con, data_file(name))
    found = {
        (row["customer_number"], doc): (str(row["open_amount"]), row["currency"])
        for doc, row in open_items(con, D(2025, 12, 31)).items()
    }
    assert found == FEC_OPEN
    assert "FA-2025-0301" not in {doc for _, doc in found}
    assert "VIR-0402-A" not in {doc for _, doc in found}


@pytest.mark.parametrize("name", FEC_FILES)
def test_case_04_balances(con, data_file, name):
    """00027 = 350 + 6000 - 600 - 2000 = 3750.00 EUR."""
    load(con, data_file(name))
    assert balances(con, D(2025, 12, 31)) == {
        "00012": {"EUR": Decimal("1880.00")},
        "00027": {"EUR": Decimal("3750.00")},
        "00031": {"USD": Decimal("2000.00")},
    }


@pytest.mark.parametrize("name", FEC_FILES)
def test_case_04_text(con, data_file, name):
    load(con, data_file(name))
    names = dict(con.execute("SELECT customer_number, name FROM customers").fetchall())
    assert names == {
        "00012": "Atelier Roussel",
        "00027": "Société Martel Frères",
        "00031": "Kowalski Trading Ltd",
    }
    reference = con.execute(
        "SELECT reference FROM items WHERE doc_number = 'VIR-0505-C'"
    ).fetchone()[0]
    assert reference == "Virement reçu Martel 2 000 € sans référence"
    assert "¤" not in reference


def test_case_04_both_files_give_the_same_items(tmp_path):
    from dunning import store

    results = []
    for index, name in enumerate(FEC_FILES):
        con = store.connect(tmp_path / f"fec{index}.duckdb")
        load(con, DATA / name)
        results.append(
            (
                stored(con),
                con.execute(
                    "SELECT i.doc_number, a.paid_on, a.amount, a.source_doc "
                    "FROM allocations a JOIN items i USING (item_id) ORDER BY 1, 2"
                ).fetchall(),
            )
        )
        con.close()
    assert results[0] == results[1]
    assert len(results[0][0]) == 7


@pytest.mark.parametrize("name", FEC_FILES)
def test_case_04_no_due_date_without_a_rule(con, data_file, name):
    report = load(con, data_file(name))
    assert con.execute("SELECT count(due_date) FROM items").fetchone()[0] == 0
    needing = sorted(w["message"].split(":")[0] for w in report.warnings)
    assert needing == ["FA-2024-1187", "FA-2025-0355", "FA-2025-0402", "FA-2025-0420"]
    assert all(item["days_late"] is None for item in _invoices(con))


def _invoices(con) -> list[dict]:
    return [
        item
        for item in open_items(con, D(2025, 12, 31)).values()
        if item["doc_type"] == "invoice"
    ]


@pytest.mark.parametrize("name", FEC_FILES)
def test_case_04_due_dates_with_payment_terms(con, data_file, name):
    """Due date = PieceDate + 30 days."""
    report = load(con, data_file(name), payment_terms_days=30)
    due = dict(
        con.execute(
            "SELECT doc_number, due_date FROM items WHERE doc_type = 'invoice'"
        ).fetchall()
    )
    assert due == {
        "FA-2024-1187": D(2025, 1, 4),  # 2024-12-05 + 30
        "FA-2025-0301": D(2025, 4, 2),  # 2025-03-03 + 30 (settled)
        "FA-2025-0355": D(2025, 4, 19),  # 2025-03-20 + 30
        "FA-2025-0402": D(2025, 5, 10),  # 2025-04-10 + 30
        "FA-2025-0420": D(2025, 5, 22),  # 2025-04-22 + 30
    }
    assert report.detected["due_dates_derived"] == 4


@pytest.mark.parametrize("name", FEC_FILES)
def test_case_04_partial_lettering_keeps_the_dated_payment(con, data_file, name):
    """FA-2025-0355: 2880.00 open until the 1000.00 paid on 2025-04-25."""
    load(con, data_file(name))
    assert open_items(con, D(2025, 4, 24))["FA-2025-0355"]["open_amount"] == Decimal(
        "2880.00"
    )
    assert open_items(con, D(2025, 4, 25))["FA-2025-0355"]["open_amount"] == Decimal(
        "1880.00"
    )
    # FA-2025-0301 was open between its date and the payment of 2025-04-02.
    assert "FA-2025-0301" in open_items(con, D(2025, 4, 1))
    assert "FA-2025-0301" not in open_items(con, D(2025, 4, 2))


# ---------------------------------------------------------------------------
# Case 12: missing or invalid due dates

CASE_12 = "postes_C00310.csv"


@pytest.fixture
def case_12(con, data_file):
    return load(con, data_file(CASE_12))


def test_case_12_imports_every_row(con, case_12):
    assert (case_12.rows_read, case_12.rows_loaded, case_12.rows_rejected) == (6, 6, 0)
    assert con.execute("SELECT count(*) FROM items").fetchone()[0] == 6


@pytest.mark.parametrize(
    ("doc_number", "line", "raw"),
    [
        pytest.param("FA-2025-0802", 3, None, id="empty"),
        pytest.param("FA-2025-0803", 4, "00/00/0000", id="zero date"),
        pytest.param("FA-2025-0804", 5, None, id="spaces only"),
        pytest.param("FA-2025-0805", 6, "31/02/2025", id="31 February"),
    ],
)
def test_case_12_unknown_due_dates_are_listed(con, case_12, doc_number, line, raw):
    listed = [w for w in case_12.warnings if w["line"] == line]
    assert len(listed) == 1
    assert listed[0]["column"] == "Date échéance"
    assert listed[0]["value"] == raw
    assert doc_number in listed[0]["message"]
    row = con.execute(
        "SELECT due_date, due_date_problem FROM items WHERE doc_number = ?",
        [doc_number],
    ).fetchone()
    assert row[0] is None
    assert row[1] is not None
    assert open_items(con, D(2025, 9, 30))[doc_number]["days_late"] is None


def test_case_12_impossible_date_does_not_roll_over(con, case_12):
    due = con.execute(
        "SELECT due_date, due_date_problem FROM items WHERE doc_number = 'FA-2025-0805'"
    ).fetchone()
    assert due == (None, "31/02/2025")  # not 2025-03-03, not 2025-02-28


def test_case_12_missing_document_date_is_a_warning(con, case_12):
    warning = [w for w in case_12.warnings if w["line"] == 7]
    assert [w["column"] for w in warning] == ["Date pièce"]
    item = open_items(con, D(2025, 9, 30))["FA-2025-0806"]
    assert (item["issue_date"], item["days_late"]) == (None, 15)  # 09-30 - 09-15


def test_case_12_balance_and_overdue(con, case_12):
    """Balance 1250 + 2300 + 610 + 95 + 4000 + 330 = 8585.00;
    overdue FA-0801 (30 days) + FA-0806 (15 days) = 1250 + 330 = 1580.00."""
    as_of = D(2025, 9, 30)
    assert balances(con, as_of) == {"C00310": {"EUR": Decimal("8585.00")}}
    assert overdue(con, as_of) == {"C00310": {"EUR": Decimal("1580.00")}}
    late = {
        doc: item["days_late"]
        for doc, item in open_items(con, as_of).items()
        if item["overdue"]
    }
    assert late == {"FA-2025-0801": 30, "FA-2025-0806": 15}


# ---------------------------------------------------------------------------
# Case 16: lettering to the cent


def test_case_16_lettering_leaves_nothing_open(con, data_file):
    """AC: 100.30 - 50.10 - 50.20 = 0; AD: 0.70 - 0.10 - 0.20 - 0.40 = 0."""
    report = load(con, data_file("lettrage_centimes.csv"))
    assert report.errors == []
    for as_of in (D(2025, 9, 26), D(2026, 2, 15)):
        assert open_items(con, as_of) == {}
        assert "C00131" not in balances(con, as_of)
    amounts = con.execute(
        "SELECT doc_number, open_amount FROM items ORDER BY doc_number"
    ).fetchall()
    assert amounts == [
        ("FA-2025-0660", Decimal("0.00")),
        ("FA-2025-0671", Decimal("0.00")),
    ]


def test_case_16_allocations_are_stored_with_their_dates(con, data_file):
    load(con, data_file("lettrage_centimes.csv"))
    rows = con.execute(
        "SELECT i.doc_number, a.paid_on, a.amount, a.source_doc FROM allocations a "
        "JOIN items i USING (item_id) ORDER BY i.doc_number, a.paid_on"
    ).fetchall()
    assert rows == [
        ("FA-2025-0660", D(2025, 7, 10), Decimal("50.10"), "RG-2025-0801"),
        ("FA-2025-0660", D(2025, 7, 15), Decimal("50.20"), "RG-2025-0815"),
        ("FA-2025-0671", D(2025, 6, 25), Decimal("0.10"), "AV-2025-0072"),
        ("FA-2025-0671", D(2025, 7, 18), Decimal("0.20"), "RG-2025-0822"),
        ("FA-2025-0671", D(2025, 7, 19), Decimal("0.40"), "RG-2025-0823"),
    ]
    # Before the last payment FA-2025-0671 still owed 0.70 - 0.10 - 0.20 = 0.40.
    assert open_items(con, D(2025, 7, 18))["FA-2025-0671"]["open_amount"] == Decimal(
        "0.40"
    )


# ---------------------------------------------------------------------------
# IBM public ledger: settled invoices replayed at an as-of date


def _ibm_rows() -> list[dict[str, str]]:
    with (DATA / IBM).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _us_date(text: str) -> dt.date:
    return dt.datetime.strptime(text, "%m/%d/%Y").date()


def _ibm_open(as_of: dt.date) -> list[dict[str, str]]:
    """Open at D when InvoiceDate <= D < SettledDate (SOURCE.md)."""
    return [
        row
        for row in _ibm_rows()
        if _us_date(row["InvoiceDate"]) <= as_of < _us_date(row["SettledDate"])
    ]


@pytest.fixture
def ibm(con, data_file):
    return load(con, data_file(IBM))


def test_ibm_imports_with_no_options(con, ibm):
    assert (ibm.rows_read, ibm.rows_loaded, ibm.rows_rejected) == (2466, 2466, 0)
    assert ibm.errors == []
    assert ibm.kind == "items"
    assert ibm.detected["issue_date_order"] == "mdy"
    counts = con.execute(
        "SELECT count(*), count(DISTINCT customer_number), count(paid_date) FROM items"
    ).fetchone()
    assert counts == (2466, 100, 2466)


def test_ibm_first_invoice(con, ibm):
    """391,0379-NEVHP,4/6/2013,0000611365,1/2/2013,2/1/2013,55.94,No,1/15/2013."""
    row = con.execute(
        "SELECT customer_number, issue_date, due_date, amount, status, paid_date, "
        "currency FROM items WHERE doc_number = '0000611365'"
    ).fetchone()
    assert row == (
        "0379-NEVHP",
        D(2013, 1, 2),
        D(2013, 2, 1),
        Decimal("55.94"),
        "open",
        D(2013, 1, 15),
        "EUR",
    )


def test_ibm_disputes_and_currency(con, ibm):
    disputed = {r["invoiceNumber"] for r in _ibm_rows() if r["Disputed"] == "Yes"}
    stored_disputed = {
        row[0]
        for row in con.execute(
            "SELECT doc_number FROM items WHERE status = 'disputed'"
        ).fetchall()
    }
    assert stored_disputed == disputed
    assert con.execute("SELECT DISTINCT currency FROM items").fetchall() == [("EUR",)]
    numbers = [row[0] for row in con.execute("SELECT doc_number FROM items").fetchall()]
    assert all(len(n) == 10 and n.isdigit() for n in numbers)
    assert sum(n.startswith("0") for n in numbers) == sum(
        r["invoiceNumber"].startswith("0") for r in _ibm_rows()
    )


@pytest.mark.parametrize("as_of", [D(2012, 9, 1), D(2013, 6, 30)])
def test_ibm_open_count_at_an_as_of_date(con, ibm, as_of):
    expected = _ibm_open(as_of)
    found = open_items(con, as_of)
    assert len(found) == len(expected)
    assert set(found) == {row["invoiceNumber"] for row in expected}


def test_ibm_overdue_total(con, ibm):
    """Overdue at D: open at D and DueDate < D; summed with Decimal."""
    as_of = D(2013, 6, 30)
    expected = sum(
        (
            Decimal(row["InvoiceAmount"])
            for row in _ibm_open(as_of)
            if _us_date(row["DueDate"]) < as_of
        ),
        Decimal("0.00"),
    )
    totals = aging.totals(con, as_of)
    assert totals["EUR"]["overdue"] == expected
    assert expected > 0


# ---------------------------------------------------------------------------
# Excel


def _workbook(path: Path, rows: list[list]) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def test_excel_read_as_a_person_reads_it(con, tmp_path):
    """Serial 45688 = 2025-01-31 (45658 is 2025-01-01, + 30)."""
    path = _workbook(
        tmp_path / "ledger.xlsx",
        [
            ["Échéancier clients au 15/02/2026"],
            ["Société Exemple SAS"],
            [],
            [
                *("Code client", "Raison sociale", "N° pièce", "Date pièce"),
                *("Échéance", "Montant TTC", "Reste dû"),
            ],
            [
                *("00012", "Atelier Roussel", "FA-1", "02/01/2025"),
                *(D(2025, 1, 31), "1 234,56", "1 234,56"),
            ],
            [
                "00027",
                "Martel",
                "FA-2",
                dt.datetime(2025, 1, 15),
                45688,
                980.4,
                "480,40",
            ],
            ["00031", "Kowalski", 1001, "2025-01-20", "20/02/2025", 2045.1, 2045.1],
            ["Total", None, None, None, None, "4 260,06", "3 760,06"],
        ],
    )
    report = load(con, path)
    assert report.errors == []
    assert report.detected["header_line"] == 4
    assert [w["line"] for w in report.warnings] == [8]  # the total row
    assert stored(con) == [
        (
            "00012",
            "invoice",
            "FA-1",
            D(2025, 1, 2),
            D(2025, 1, 31),
            Decimal("1234.56"),
            Decimal("1234.56"),
            "EUR",
            "open",
            None,
        ),
        (
            "00027",
            "invoice",
            "FA-2",
            D(2025, 1, 15),
            D(2025, 1, 31),
            Decimal("980.40"),
            Decimal("480.40"),
            "EUR",
            "open",
            None,
        ),
        (
            "00031",
            "invoice",
            "1001",
            D(2025, 1, 20),
            D(2025, 2, 20),
            Decimal("2045.10"),
            Decimal("2045.10"),
            "EUR",
            "open",
            None,
        ),
    ]
    lines = dict(con.execute("SELECT doc_number, line FROM items").fetchall())
    assert lines == {"FA-1": 5, "FA-2": 6, "1001": 7}


def test_excel_numbers_in_a_dot_column(con, tmp_path):
    """Real numbers and '1,234.56' typed as text, in one dot-decimal column."""
    path = _workbook(
        tmp_path / "en.xlsx",
        [
            ["Customer ID", "Invoice number", "Due date", "Amount"],
            ["C1", "INV-1", "01/31/2025", "1,234.56"],
            ["C1", "INV-2", "02/28/2025", 99.5],
        ],
    )
    load(con, path)
    amounts = dict(con.execute("SELECT doc_number, amount FROM items").fetchall())
    assert amounts == {"INV-1": Decimal("1234.56"), "INV-2": Decimal("99.50")}


def test_excel_takes_the_sheet_with_a_header(con, tmp_path):
    workbook = openpyxl.Workbook()
    notes = workbook.active
    notes.title = "Notes"
    notes.append(["Exported on 15/02/2026 by the ERP"])
    data = workbook.create_sheet("Ledger")
    data.append(["Customer ID", "Invoice number", "Due date", "Amount"])
    data.append(["00012", "INV-1", D(2026, 1, 31), 10])
    workbook.save(tmp_path / "two.xlsx")
    load(con, tmp_path / "two.xlsx")
    assert con.execute(
        "SELECT customer_number, doc_number, amount FROM items"
    ).fetchall() == [("00012", "INV-1", Decimal("10.00"))]


def test_excel_without_a_data_sheet_is_refused(con, tmp_path):
    path = _workbook(tmp_path / "empty.xlsx", [])
    with pytest.raises(ImportRefused):
        load(con, path)


# ---------------------------------------------------------------------------
# Parquet


def test_parquet_decimal_and_date_columns(con, tmp_path):
    path = tmp_path / "ledger.parquet"
    table = pa.table(
        {
            "customerID": pa.array(["00012", "00027"]),
            "invoiceNumber": pa.array(["0000611365", "FA-2025-1198"]),
            "InvoiceDate": pa.array([D(2026, 1, 2), D(2025, 11, 28)], pa.date32()),
            "DueDate": pa.array([D(2026, 1, 31), D(2025, 12, 28)], pa.date32()),
            "InvoiceAmount": pa.array(
                [Decimal("1234.56"), Decimal("980.40")], pa.decimal128(18, 2)
            ),
            "Outstanding": pa.array(
                [Decimal("1234.56"), Decimal("480.40")], pa.decimal128(18, 2)
            ),
            "Currency": pa.array(["EUR", "USD"]),
        }
    )
    pq.write_table(table, path)
    report = load(con, path)
    assert (report.format, report.rows_loaded, report.errors) == ("parquet", 2, [])
    assert stored(con) == [
        (
            "00012",
            "invoice",
            "0000611365",
            D(2026, 1, 2),
            D(2026, 1, 31),
            Decimal("1234.56"),
            Decimal("1234.56"),
            "EUR",
            "open",
            None,
        ),
        (
            "00027",
            "invoice",
            "FA-2025-1198",
            D(2025, 11, 28),
            D(2025, 12, 28),
            Decimal("980.40"),
            Decimal("480.40"),
            "USD",
            "open",
            None,
        ),
    ]


# ---------------------------------------------------------------------------
# Rules

HEADER = "Code client;N° pièce;Date pièce;Échéance;Montant;Devise\n"


def test_ambiguous_dates_need_a_date_order(con, tmp_path):
    """02/01 and 03/04: every part <= 12, so dmy and mdy both read."""
    path = write_csv(
        tmp_path,
        HEADER + "C1;FA-1;02/01/2025;03/04/2025;10,00;EUR\n"
        "C1;FA-2;05/06/2025;07/08/2025;20,00;EUR\n",
    )
    with pytest.raises(AmbiguousDateOrder, match="date-order") as refused:
        load(con, path)
    assert refused.value.columns == ["Date pièce", "Échéance"]
    assert con.execute("SELECT count(*) FROM items").fetchone()[0] == 0

    load(con, path, date_order="mdy")
    due = dict(con.execute("SELECT doc_number, due_date FROM items").fetchall())
    assert due == {"FA-1": D(2025, 3, 4), "FA-2": D(2025, 7, 8)}


def test_one_day_over_12_settles_day_first(con, tmp_path):
    """13/01/2025 can only be 13 January: the whole column is read day-first."""
    path = write_csv(
        tmp_path,
        HEADER + "C1;FA-1;02/01/2025;13/01/2025;10,00;EUR\n"
        "C1;FA-2;05/06/2025;07/08/2025;20,00;EUR\n",
    )
    report = load(con, path)
    assert report.detected["due_date_order"] == "dmy"
    due = dict(con.execute("SELECT doc_number, due_date FROM items").fetchall())
    assert due == {"FA-1": D(2025, 1, 13), "FA-2": D(2025, 8, 7)}
    issued = dict(con.execute("SELECT doc_number, issue_date FROM items").fetchall())
    assert issued == {"FA-1": D(2025, 1, 2), "FA-2": D(2025, 6, 5)}


def test_rejected_rows_name_line_column_and_value(con, tmp_path):
    path = write_csv(
        tmp_path,
        HEADER + "C1;FA-1;02/01/2026;31/01/2026;100,00;EUR\n"  # line 2
        "C1;FA-2;02/01/2026;31/01/2026;1x0,00;EUR\n"  # line 3
        "C1;FA-1;03/01/2026;28/02/2026;50,00;EUR\n"  # line 4: duplicate of 2
        "C2;FA-3;02/01/2026;31/01/2026;10,00;XYZ\n"  # line 5
        "C2;FA-4;02/01/2026;31/01/2026;10,00;usd\n",  # line 6
    )
    report = load(con, path)
    problems = {
        (e["line"], e["column"], e["value"]): e["message"] for e in report.errors
    }
    assert set(problems) == {
        (3, "Montant", "1x0,00"),
        (4, "N° pièce", "FA-1"),
        (5, "Devise", "XYZ"),
    }
    assert "line 2" in problems[(4, "N° pièce", "FA-1")]
    assert "XYZ" in problems[(5, "Devise", "XYZ")]
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (5, 2, 3)
    assert stored(con) == [
        (
            *("C1", "invoice", "FA-1", D(2026, 1, 2), D(2026, 1, 31)),
            *(Decimal("100.00"), Decimal("100.00"), "EUR", "open", None),
        ),
        (
            *("C2", "invoice", "FA-4", D(2026, 1, 2), D(2026, 1, 31)),
            *(Decimal("10.00"), Decimal("10.00"), "USD", "open", None),
        ),
    ]
    recorded = importing.problems_of(con, report.import_id)
    assert {(p["line"], p["severity"]) for p in recorded} >= {
        (3, "error"),
        (5, "error"),
    }


def test_load_valid_rows_false_stores_nothing(con, tmp_path):
    path = write_csv(
        tmp_path,
        HEADER + "C1;FA-1;02/01/2026;31/01/2026;100,00;EUR\n"
        "C1;FA-2;02/01/2026;31/01/2026;1x0,00;EUR\n",
    )
    report = load(con, path, load_valid_rows=False)
    assert not report.committed
    assert report.rows_rejected == 1
    for table in ("items", "customers", "imports", "import_problems"):
        assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0
    # Not recorded as imported: the corrected decision can load it.
    assert load(con, path).committed


TABLES = ["customers", "contacts", "items", "allocations", "imports", "mappings"]


def _snapshot(con) -> dict[str, list]:
    return {
        table: sorted(map(repr, con.execute(f"SELECT * FROM {table}").fetchall()))
        for table in TABLES
    }


@pytest.mark.parametrize(
    ("text", "options", "error"),
    [
        pytest.param(
            HEADER + "C00012;FA-9;02/01/2026;03/04/2026;10,00;EUR\n",
            {},
            AmbiguousDateOrder,
            id="ambiguous dates",
        ),
        pytest.param(
            HEADER + "C00012;FA-9;02/01/2026;31/01/2026;10,00;EUR\n",
            {"save_mapping_as": "   "},
            ImportRefused,
            id="failure after the items were written",
        ),
        pytest.param(
            "Libellé;Date\nx;y\n", {}, ImportRefused, id="no recognisable column"
        ),
        pytest.param(
            HEADER + "C00012;FA-9;02/01/2026;31/01/2026;10,00;EUR\n",
            {"mapping": "no such mapping"},
            NotFound,
            id="unknown saved mapping",
        ),
    ],
)
def test_failing_import_leaves_the_workspace_as_it_was(
    con, data_file, tmp_path, text, options, error
):
    load(con, data_file(CASE_01))
    before = _snapshot(con)
    with pytest.raises(error):
        load(con, write_csv(tmp_path, text), **options)
    assert _snapshot(con) == before


def test_same_file_twice(con, data_file):
    path = data_file(CASE_02)
    load(con, path)
    with pytest.raises(AlreadyImported, match="--force"):
        load(con, path)
    again = load(con, path, force=True)
    assert again.committed
    assert con.execute("SELECT count(*) FROM items").fetchone()[0] == 3
    assert con.execute("SELECT count(*) FROM imports").fetchone()[0] == 2


def test_replace_closes_an_item_missing_from_the_new_snapshot(con, tmp_path):
    first = write_csv(
        tmp_path,
        HEADER + "C1;FA-1;02/01/2026;31/01/2026;100,00;EUR\n"
        "C1;FA-2;15/01/2026;14/02/2026;200,00;EUR\n"
        "C2;FA-3;05/01/2026;04/02/2026;300,00;EUR\n",
        "monday.csv",
    )
    second = write_csv(
        tmp_path,
        HEADER + "C1;FA-2;15/01/2026;14/02/2026;150,00;EUR\n",
        "friday.csv",
    )
    load(con, first)
    report = load(con, second)
    assert report.items_closed == 1
    paid = dict(con.execute("SELECT doc_number, paid_date FROM items").fetchall())
    assert paid == {"FA-1": D(2026, 2, 15), "FA-2": None, "FA-3": None}  # today
    today = open_items(con, D(2026, 2, 15))
    assert set(today) == {"FA-2", "FA-3"}  # C2 is not in the snapshot: untouched
    assert today["FA-2"]["open_amount"] == Decimal("150.00")
    assert "FA-1" in open_items(con, D(2026, 2, 14))


def test_replace_closes_on_the_as_of_date_given(con, tmp_path):
    load(con, write_csv(tmp_path, HEADER + "C1;FA-1;02/01/2026;31/01/2026;1,00;EUR\n"))
    load(
        con,
        write_csv(tmp_path, HEADER + "C1;FA-2;02/01/2026;31/01/2026;2,00;EUR\n", "b"),
        as_of=D(2026, 2, 10),
    )
    paid = con.execute("SELECT paid_date FROM items WHERE doc_number = 'FA-1'")
    assert paid.fetchone()[0] == D(2026, 2, 10)


def test_append_refuses_an_existing_document(con, tmp_path):
    load(con, write_csv(tmp_path, HEADER + "C1;FA-1;02/01/2026;31/01/2026;1,00;EUR\n"))
    path = write_csv(
        tmp_path,
        HEADER + "C1;FA-1;02/01/2026;31/01/2026;9,00;EUR\n"
        "C1;FA-2;02/01/2026;31/01/2026;2,00;EUR\n",
        "more.csv",
    )
    report = load(con, path, mode="append")
    assert [(e["line"], e["value"]) for e in report.errors] == [(2, "FA-1")]
    assert report.rows_rejected == 1
    amounts = dict(con.execute("SELECT doc_number, amount FROM items").fetchall())
    assert amounts == {"FA-1": Decimal("1.00"), "FA-2": Decimal("2.00")}


def test_saved_mapping_is_reused_by_name(con, tmp_path):
    mapping = {
        "customer_number": "Compte",
        "doc_number": "Réf",
        "due_date": "Pour le",
        "open_amount": "Dû",
    }
    text = "Compte;Réf;Pour le;Dû\nC1;FA-1;31/01/2026;12,50\n"
    first = load(con, write_csv(tmp_path, text), mapping=mapping, save_mapping_as="ERP")
    assert first.committed
    assert columns.load(con, "ERP") == ("items", mapping)
    text2 = "Compte;Réf;Pour le;Dû\nC2;FA-7;28/02/2026;7,50\n"
    second = load(con, write_csv(tmp_path, text2, "next.csv"), mapping="ERP")
    assert second.mapping == mapping
    due = dict(con.execute("SELECT doc_number, due_date FROM items").fetchall())
    assert due == {"FA-1": D(2026, 1, 31), "FA-7": D(2026, 2, 28)}


def test_mapping_from_a_json_file(con, tmp_path):
    spec = tmp_path / "erp.json"
    spec.write_text(
        json.dumps(
            {
                "kind": "items",
                "mapping": {"customer_number": "A", "doc_number": "B", "amount": "C"},
            }
        ),
        encoding="utf-8",
    )
    load(con, write_csv(tmp_path, "A;B;C\nC1;X-1;5,00\n"), mapping=str(spec))
    assert con.execute("SELECT doc_number, amount FROM items").fetchall() == [
        ("X-1", Decimal("5.00"))
    ]


@pytest.mark.parametrize(
    ("written", "amount", "doc_type", "stored_amount"),
    [
        pytest.param("Facture", "100,00", "invoice", "100.00", id="invoice"),
        pytest.param("Avoir", "250,00", "credit_note", "-250.00", id="avoir: -250"),
        pytest.param("Avoir", "-250,00", "credit_note", "-250.00", id="avoir signed"),
        pytest.param("Règlement", "80,00", "payment", "-80.00", id="reglement: -80"),
        pytest.param("Virement", "80,00", "payment", "-80.00", id="virement"),
        pytest.param("Credit note", "15,00", "credit_note", "-15.00", id="english"),
        pytest.param("OD", "12,00", "adjustment", "12.00", id="adjustment"),
        pytest.param("", "-40,00", "credit_note", "-40.00", id="negative, no type"),
        pytest.param("", "40,00", "invoice", "40.00", id="positive, no type"),
    ],
)
def test_document_types_and_signs(
    con, tmp_path, written, amount, doc_type, stored_amount
):
    """Credit notes and payments carry negative open amounts (DESIGN 4)."""
    text = (
        "Code client;Type;N° pièce;Échéance;Montant\n"
        f"C1;{written};D-1;31/01/2026;{amount}\n"
    )
    load(con, write_csv(tmp_path, text))
    row = con.execute("SELECT doc_type, amount, open_amount FROM items").fetchone()
    assert row == (doc_type, Decimal(stored_amount), Decimal(stored_amount))


@pytest.mark.parametrize(
    ("column", "written", "status"),
    [
        ("Statut", "Litige", "disputed"),
        ("Statut", "en litige", "disputed"),
        ("Statut", "Promesse de paiement", "promised"),
        ("Statut", "Contentieux", "litigation"),
        ("Statut", "Ne pas relancer", "ignored"),
        ("Statut", "", "open"),
        ("Litige", "Oui", "disputed"),
        ("Litige", "Non", "open"),
        ("Disputed", "Yes", "disputed"),
        ("Disputed", "No", "open"),
    ],
)
def test_status_columns(con, tmp_path, column, written, status):
    text = (
        f"Code client;N° pièce;Échéance;Montant;{column}\n"
        f"C1;D-1;31/01/2026;5,00;{written}\n"
    )
    load(con, write_csv(tmp_path, text))
    assert con.execute("SELECT status FROM items").fetchall() == [(status,)]


def test_cancelled_document_is_not_an_item(con, tmp_path):
    text = (
        "Code client;N° pièce;Échéance;Montant;Statut\n"
        "C1;D-1;31/01/2026;5,00;Annulée\n"
        "C1;D-2;31/01/2026;6,00;\n"
    )
    report = load(con, write_csv(tmp_path, text))
    assert con.execute("SELECT doc_number FROM items").fetchall() == [("D-2",)]
    assert [(w["line"], w["value"]) for w in report.warnings] == [(2, "Annulée")]


@pytest.mark.parametrize(
    ("written", "currency"),
    [
        ("EUR", "EUR"),
        ("€", "EUR"),
        ("usd", "USD"),
        ("$", "USD"),
        ("£", "GBP"),
        ("", "EUR"),
        ("CHF", "CHF"),
    ],
)
def test_currency_codes_and_symbols(con, tmp_path, written, currency):
    text = (
        "Code client;N° pièce;Échéance;Montant;Devise\n"
        f"C1;D-1;31/01/2026;5,00;{written}\n"
    )
    load(con, write_csv(tmp_path, text))
    assert con.execute("SELECT currency FROM items").fetchall() == [(currency,)]


def test_lines_reported_after_a_quoted_newline(con, tmp_path):
    """Header 1, FA-1 2-3 (label on two lines), FA-2 4: the bad amount is on line 4."""
    text = (
        "Code client;N° pièce;Libellé;Échéance;Montant\n"
        'C1;FA-1;"Livraison\npalettes";31/01/2026;10,00\n'
        "C1;FA-2;x;28/02/2026;1x0,00\n"
    )
    report = load(con, write_csv(tmp_path, text))
    assert [(e["line"], e["value"]) for e in report.errors] == [(4, "1x0,00")]
    assert con.execute("SELECT reference, line FROM items").fetchall() == [
        ("Livraison\npalettes", 2)
    ]


def test_a_line_with_an_unquoted_separator_is_rejected_as_such(con, tmp_path):
    """'Livraison; palettes' unquoted gives line 3 six fields for five columns."""
    text = (
        "Code client;N° pièce;Libellé;Échéance;Montant\n"
        "C1;FA-1;ok;31/01/2026;100,00\n"
        "C1;FA-2;Livraison; palettes;28/02/2026;200,00\n"
        "C1;FA-3;ok;31/03/2026;300,00;\n"
    )
    report = load(con, write_csv(tmp_path, text))
    assert [(e["line"], e["column"]) for e in report.errors] == [(3, None)]
    assert "more fields" in report.errors[0]["message"]
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (3, 2, 1)
    docs = [row[0] for row in con.execute("SELECT doc_number FROM items").fetchall()]
    assert sorted(docs) == ["FA-1", "FA-3"]  # FA-3's trailing empty field is harmless


# ---------------------------------------------------------------------------
# Contacts


def test_case_10_contacts(con, data_file):
    report = load(con, data_file("contacts_clients.csv"))
    assert report.kind == "contacts"
    refused = {(e["line"], e["column"]) for e in report.errors}
    assert refused == {
        (3, "Email"),  # C00072: CR LF inside the quoted address (lines 3-4)
        (5, "Email"),  # C00073: %0d%0a and a second @
        (6, "Contact"),  # C00074: LF in the name (lines 6-7)
    }
    contacts = con.execute(
        "SELECT customer_number, name, email FROM contacts ORDER BY customer_number, "
        "email"
    ).fetchall()
    assert contacts == [
        ("C00071", "Mme Claire Perrin", "compta@menuiserie-perrin.example"),
        (
            "C00075",
            "=?UTF-8?Q?Service_compta=0ABcc:_collecte@attaquant.example?=",
            "compta@garage-lemaire.example",
        ),
        ("C00076", "M. Paul Roy", "compta@optique-roy.example"),
        ("C00076", "M. Paul Roy", "direction@optique-roy.example"),
        ("C00077", "Caron, Julien", "j.caron@imprimerie-caron.example"),
    ]
    for _, name, email in contacts:
        assert "\r" not in name + email and "\n" not in name + email


@pytest.mark.parametrize(
    ("written", "role"),
    [
        ("Relance", "dunning"),
        ("relance", "dunning"),
        ("facturation", "billing"),
        ("Comptabilité", "billing"),
        ("Direction", "management"),
        ("Billing", "billing"),
        ("Commercial", "other"),
        ("", None),
    ],
)
def test_contact_roles_in_french_and_english(con, tmp_path, written, role):
    path = write_csv(
        tmp_path,
        f"Code client;Nom contact;Fonction;Email\nC1;A;{written};a@b.example\n",
    )
    report = load(con, path)
    assert report.kind == "contacts"
    assert con.execute("SELECT role FROM contacts").fetchall() == [(role,)]


def test_contacts_snapshot_replaces_a_customers_contacts(con, tmp_path):
    head = "Code client;Contact;Email\n"
    load(con, write_csv(tmp_path, head + "C1;Old;old@b.example\nC2;Keep;k@b.example\n"))
    load(con, write_csv(tmp_path, head + "C1;New;new@b.example\n", "new.csv"))
    rows = con.execute(
        "SELECT customer_number, name FROM contacts ORDER BY 1"
    ).fetchall()
    assert rows == [("C1", "New"), ("C2", "Keep")]


# ---------------------------------------------------------------------------
# Command line


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dunning", *args],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_import_json(tmp_path, data_file):
    db = tmp_path / "cli.duckdb"
    done = _cli("import", str(data_file(CASE_01)), "--json", "--db", str(db))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert {"rows_read", "rows_loaded", "rows_rejected", "errors", "warnings"} <= set(
        result
    )
    assert (result["rows_read"], result["rows_loaded"], result["rows_rejected"]) == (
        6,
        5,
        0,
    )
    assert result["errors"] == []
    assert set(result["warnings"][0]) == {"line", "column", "value", "message"}
    assert result["warnings"][0]["line"] == 7


def test_cli_import_rejected_rows_in_json(tmp_path):
    path = write_csv(tmp_path, HEADER + "C1;FA-1;02/01/2026;31/01/2026;1x0,00;EUR\n")
    done = _cli("import", str(path), "--json", "--db", str(tmp_path / "c.duckdb"))
    assert done.returncode == 0, done.stderr
    errors = json.loads(done.stdout)["errors"]
    assert errors == [
        {
            "line": 2,
            "column": "Montant",
            "value": "1x0,00",
            "message": errors[0]["message"],
        }
    ]


@pytest.mark.parametrize(
    ("make", "named"),
    [
        pytest.param(lambda tmp: tmp / "missing.csv", "missing.csv", id="missing"),
        pytest.param(lambda tmp: tmp, "folder", id="a folder"),
        pytest.param(
            lambda tmp: write_csv(tmp, "", "empty.csv"), "empty.csv", id="empty file"
        ),
        pytest.param(
            lambda tmp: (
                (tmp / "bad.xlsx").write_bytes(b"PK\x03\x04xx") and tmp / "bad.xlsx"
            ),
            "bad.xlsx",
            id="broken workbook",
        ),
    ],
)
def test_cli_unreadable_file_is_one_sentence_on_stderr(tmp_path, make, named):
    path = make(tmp_path)
    db = tmp_path / "cli.duckdb"
    done = _cli("import", str(path), "--json", "--db", str(db))
    assert done.returncode != 0
    assert done.stdout == ""
    message = done.stderr.strip()
    assert len(message.splitlines()) == 1
    assert message.startswith("error: ")
    assert named in message or str(path) in message
    assert "Traceback" not in done.stderr


def test_cli_ambiguous_dates_name_the_option(tmp_path):
    path = write_csv(tmp_path, HEADER + "C1;FA-1;02/01/2025;03/04/2025;10,00;EUR\n")
    db = tmp_path / "cli.duckdb"
    done = _cli("import", str(path), "--json", "--db", str(db))
    assert done.returncode != 0
    assert "--date-order" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    again = _cli("import", str(path), "--json", "--db", str(db), "--date-order", "dmy")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["rows_loaded"] == 1


# ---------------------------------------------------------------------------
# Customers files: every mapped field reaches the customer record


def customer(con, number: str) -> dict:
    cursor = con.execute("SELECT * FROM customers WHERE customer_number = ?", [number])
    names = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    return dict(zip(names, rows[0], strict=True)) if rows else {}


def test_customers_file_fills_every_field_it_maps(con, data_file):
    report = load(con, data_file("clients_parametres.csv"))
    assert report.kind == "customers"
    assert (report.rows_loaded, report.errors) == (2, [])
    # every field a customers file can carry is in the file (contacts apart), so a
    # field added to the customers kind without reaching the table fails here
    assert set(report.mapping) == set(columns.KIND_FIELDS["customers"]) - {
        "email",
        "contact_name",
    }
    settings = list(customers.EDITABLE)  # in the record's order
    golf, hotel = customer(con, "P07"), customer(con, "P08")
    assert [golf[key] for key in settings] == [
        "Golf SARL",
        "01 23 45 67 89",
        "3 rue des Lilas",
        "69003",  # a postal code stays text
        "Lyon",
        "FR",
        "fr",  # "Français"
        "EUR",  # "eur"
        45,  # "45 jours"
        "PME",
        "Claire",
        "fixed",
        Decimal("8.5"),  # "8,5 %"
        False,  # indemnity "non"
        False,  # consumer "n"
        False,  # insolvency "0"
    ]
    assert [hotel[key] for key in settings] == [
        "Hotel Ltd",
        "+44 20 7946 0000",
        "1 High Street",
        "EC1A 1BB",
        "London",
        "GB",
        "en",  # "English"
        "GBP",
        30,
        "Grands comptes",
        "Paul",
        "uk_legal",
        None,  # empty: no rate, uk_legal needs none
        True,  # "yes"
        True,  # "o"
        True,  # "1"
    ]
    # the one column that fills nothing is listed, not dropped unseen
    assert [(w["line"], w["column"]) for w in report.warnings] == [(None, "Remarque")]
    assert report.warnings[0]["message"].startswith("column not used")


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("customer_number,name,penalty_rule,penalty_rate\nP07,Golf,fixed,8.5\n", "8.5"),
        ("customer_number;name;penalty_rule;penalty_rate\nP07;Golf;fixed;8,5\n", "8.5"),
        (
            "customer_number;name;penalty_rule;penalty_rate\nP07;Golf;fixed;8.5 %\n",
            "8.5",
        ),
        (
            "customer_number;name;penalty_rule;penalty_rate\nP07;Golf;fixed;12,75%\n",
            "12.75",
        ),
        ("customer_number;name;penalty_rule;penalty_rate\nP07;Golf;fixed;0\n", "0"),
    ],
    ids=["8.5", "8,5", "8.5 %", "12,75%", "0"],
)
def test_customers_file_stores_the_penalty_rate(con, tmp_path, text, rate):
    report = load(con, write_csv(tmp_path, text, "c.csv"))
    assert (report.kind, report.rows_loaded, report.errors) == ("customers", 1, [])
    stored_row = customer(con, "P07")
    assert (stored_row["penalty_rule"], stored_row["penalty_rate"]) == (
        "fixed",
        Decimal(rate),
    )


@pytest.mark.parametrize("written", ["abc", "150", "8.5.1", "-1", "nan"])
def test_an_unreadable_penalty_rate_rejects_the_row(con, tmp_path, written):
    path = write_csv(
        tmp_path,
        f"customer_number;name;penalty_rule;penalty_rate\nP07;Golf;fixed;{written}\n"
        "P08;Hotel;fixed;10\n",
        "c.csv",
    )
    report = load(con, path)
    assert [(e["line"], e["column"], e["value"]) for e in report.errors] == [
        (2, "penalty_rate", written)
    ]
    assert "from 0 to 100" in report.errors[0]["message"]
    assert customer(con, "P07") == {}
    assert customer(con, "P08")["penalty_rate"] == Decimal("10")  # the valid row


def test_a_fixed_rule_without_a_rate_rejects_the_row(con, tmp_path):
    # the same refusal as customers.update: fixed needs its rate
    head = "customer_number;name;penalty_rule;penalty_rate\n"
    path = write_csv(tmp_path, head + "P07;Golf;fixed;\nP08;Hotel;none;\n", "c.csv")
    report = load(con, path)
    assert [(e["line"], e["column"], e["value"]) for e in report.errors] == [
        (2, "penalty_rule", "fixed")
    ]
    assert "needs its annual rate" in report.errors[0]["message"]
    assert customer(con, "P07") == {}
    assert customer(con, "P08")["penalty_rule"] == "none"


def test_a_fixed_rule_keeps_the_rate_already_stored(con, tmp_path):
    load(con, write_csv(tmp_path, "Code client;Taux pénalités\nP07;9,5\n", "rate.csv"))
    report = load(
        con, write_csv(tmp_path, "Code client;Règle pénalités\nP07;fixed\n", "r.csv")
    )
    assert report.errors == []
    stored_row = customer(con, "P07")
    assert (stored_row["penalty_rule"], stored_row["penalty_rate"]) == (
        "fixed",
        Decimal("9.5"),
    )


@pytest.mark.parametrize(
    "header", ["indemnity_enabled", "indemnity", "indemnité", "indemnite_forfaitaire"]
)
def test_indemnity_column_names(con, tmp_path, header):
    path = write_csv(tmp_path, f"Code client;{header}\nP07;non\n", "c.csv")
    report = load(con, path)
    assert report.mapping["indemnity_enabled"] == header
    assert report.warnings == []
    assert customer(con, "P07")["indemnity_enabled"] is False  # no 40 EUR charged


@pytest.mark.parametrize(
    ("written", "flag"),
    [
        ("yes", True),
        ("no", False),
        ("oui", True),
        ("non", False),
        ("Oui", True),
        ("NON", False),
        ("true", True),
        ("false", False),
        ("1", True),
        ("0", False),
        ("o", True),
        ("n", False),
    ],
)
@pytest.mark.parametrize("header", ["Indemnité", "Particulier", "Procédure collective"])
def test_yes_no_columns(con, tmp_path, header, written, flag):
    report = load(con, write_csv(tmp_path, f"Code client;{header}\nP07;{written}\n"))
    (field_name,) = set(report.mapping) - {"customer_number"}
    assert customer(con, "P07")[field_name] is flag


@pytest.mark.parametrize("header", ["Indemnité", "Particulier", "Procédure collective"])
def test_an_unreadable_yes_no_rejects_the_row(con, tmp_path, header):
    report = load(con, write_csv(tmp_path, f"Code client;{header}\nP07;peut-être\n"))
    assert [(e["line"], e["column"], e["value"]) for e in report.errors] == [
        (2, header, "peut-être")
    ]
    assert "yes or no" in report.errors[0]["message"]
    assert customer(con, "P07") == {}


@pytest.mark.parametrize(
    ("header", "written", "stored_value"),
    [
        ("Délai de paiement", "30 jours", 30),
        ("Délai de paiement", "net 60", 60),
        ("Délai de paiement", "400", None),  # customers.update: 0 to 365
        ("Délai de paiement", "12,5", None),  # not 12, not 125
        ("Devise", "usd", "USD"),
        ("Devise", "EURO", None),
        ("Règle pénalités", "FR legal", "fr_legal"),
        ("Règle pénalités", "monthly", None),
    ],
)
def test_customer_values_checked_like_the_record(
    con, tmp_path, header, written, stored_value
):
    report = load(con, write_csv(tmp_path, f"Code client;{header}\nP07;{written}\n"))
    (field_name,) = set(report.mapping) - {"customer_number"}
    if stored_value is None:
        assert [(e["line"], e["column"], e["value"]) for e in report.errors] == [
            (2, header, written)
        ]
        assert customer(con, "P07") == {}
    else:
        assert report.errors == []
        assert customer(con, "P07")[field_name] == stored_value


def test_unknown_language_is_a_warning_and_the_default_is_kept(con, tmp_path):
    report = load(con, write_csv(tmp_path, "Code client;Langue\nP07;Deutsch\n"))
    assert report.errors == []
    assert [(w["line"], w["column"], w["value"]) for w in report.warnings] == [
        (2, "Langue", "Deutsch")
    ]
    assert customer(con, "P07")["language"] == "fr"  # the workspace default


@pytest.mark.parametrize(
    ("text", "unused"),
    [
        pytest.param(
            "Code client;Nom;Remarque\nP07;Golf;x\n",
            {"Remarque": "not one the import knows"},
            id="customers: unknown name",
        ),
        pytest.param(
            "Code client;Nom;Échéance\nP07;Golf;01/02/2026\n",
            {"Échéance": "a customers file does not carry"},
            id="customers: an items field",
        ),
        pytest.param(
            "Code client;Client;Nom\nP07;P7;Golf\n",
            {"Client": "already read from column 'Code client'"},
            id="customers: a second column for one field",
        ),
        pytest.param(
            HEADER.rstrip("\n") + ";Commentaire interne\n"
            "C1;FA-1;02/01/2026;31/01/2026;10,00;EUR;à voir\n",
            {"Commentaire interne": "not one the import knows"},
            id="items",
        ),
        pytest.param(
            "Code client;Contact;Email;Notes\nC1;A;a@b.example;x\n",
            {"Notes": "not one the import knows"},
            id="contacts",
        ),
    ],
)
def test_a_column_that_fills_nothing_is_listed_as_not_used(con, tmp_path, text, unused):
    report = load(con, write_csv(tmp_path, text))
    listed = {
        w["column"]: w["message"]
        for w in report.warnings
        if w["message"].startswith("column not used")
    }
    assert set(listed) == set(unused)
    for column, why in unused.items():
        assert why in listed[column]
    assert all(w["line"] is None for w in report.warnings if w["column"] in unused)


def test_preview_lists_the_columns_not_used(con, tmp_path):
    path = write_csv(tmp_path, "Code client;Nom;Remarque\nP07;Golf;x\n")
    report = importing.preview_file(con, path)
    assert [w["column"] for w in report.warnings] == ["Remarque"]
    assert customer(con, "P07") == {}  # a preview stores nothing


def test_contacts_file_with_a_bare_nom_column_keeps_the_names(con, tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text(
        "Code client;Nom;Rôle;Email\nC001;Anne Relance;relance;anne@alpha.example\n",
        encoding="utf-8",
    )
    report = importing.import_file(con, path, importing.Options())
    assert (report.kind, report.rows_loaded) == ("contacts", 1)
    stored = con.execute("SELECT name, role, email FROM contacts").fetchall()
    assert stored == [("Anne Relance", "dunning", "anne@alpha.example")]

"""Statements as CSV and XLSX: every match or the basket, exact amounts, no formulas.

The workspace is tests/data/echeancier_clients_cp1252.csv; at 2026-02-15 it holds
C00012 FA-2026-0041 1234.56 (15 days late), FA-2026-0077 12500.00 (1 day late),
AV-2026-0003 -250.00; C00027 FA-2025-1198 480.40 open of 980.40 (49 days late);
C00031 FA-2026-0102 2045.10 (not due).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from decimal import Decimal

import openpyxl
import pytest

from dunning import exporting, importing, search
from dunning.errors import InvalidValue

AS_OF = dt.date(2026, 2, 15)
BOM = "\ufeff"
HEADER_LINE = (
    "customer_number,customer_name,doc_number,doc_type,issue_date,due_date,"
    "days_late,amount,open_amount,currency,status,reference"
)
FILE_HEADER = (
    "Code client;Raison sociale;Type pièce;N° pièce;Libellé;Date pièce;"
    "Date échéance;Montant TTC;Devise;Reste dû\n"
)
# A ledger whose text a spreadsheet would run as formulas if written as is.
HOSTILE = (
    FILE_HEADER + "C00040;=cmd|' /C calc'!A0;Facture;FU-2026-0005;"
    '=HYPERLINK("http://evil.example");15/01/2026;14/02/2026;2 000,00;USD;2 000,00\n'
    "C00040;=cmd|' /C calc'!A0;Facture;FU-2026-0009;+33 1 23 45 67 89;20/01/2026;"
    "19/02/2026;149,99;USD;149,99\n"
    "C00041;@Martin SA;Facture;-2026-0001;-remise;20/01/2026;19/02/2026;10,00;EUR;"
    "10,00\n"
    "C00041;@Martin SA;Avoir;AV-9;Retour;20/01/2026;19/02/2026;-5,50;EUR;-5,50\n"
)


@pytest.fixture
def con(con, data_file):
    importing.import_file(con, data_file("echeancier_clients_cp1252.csv"))
    return con


@pytest.fixture
def hostile(con, tmp_path):
    path = tmp_path / "hostile.csv"
    path.write_text(HOSTILE, encoding="utf-8")
    importing.import_file(con, path)
    return search.Filters(customer=["C00040", "C00041"])


def lines(data: bytes) -> list[str]:
    text = data.decode("utf-8")
    assert text.startswith(BOM)
    return text[len(BOM) :].split("\r\n")


def ids_of(con, *docs: str) -> list[int]:
    stored = dict(con.execute("SELECT doc_number, item_id FROM items").fetchall())
    return [stored[doc] for doc in docs]


def test_csv_holds_every_match_not_only_a_page(con):
    assert search.run(con, search.Filters(min_days_late=1), AS_OF, limit=1).count == 3
    rows = exporting.search_rows(con, search.Filters(min_days_late=1), AS_OF)
    assert len(rows) == 3
    # by due date; days late at 2026-02-15: 28 Dec +49, 31 Jan +15, 14 Feb +1
    assert lines(exporting.csv_bytes(rows)) == [
        HEADER_LINE,
        "C00027,Société Générale d'Équipement Rhône,FA-2025-1198,invoice,2025-11-28,"
        "2025-12-28,49,980.40,480.40,EUR,open,Maintenance T4 2025",
        "C00012,Boulangerie Lefèvre & Fils,FA-2026-0041,invoice,2026-01-02,"
        "2026-01-31,15,1234.56,1234.56,EUR,open,Pains spéciaux — janvier",
        "C00012,Boulangerie Lefèvre & Fils,FA-2026-0077,invoice,2026-01-15,"
        "2026-02-14,1,12500.00,12500.00,EUR,open,Four mixte 12 500 € HT remisé",
        "",
    ]


def test_csv_sorted_like_the_search_and_a_credit_stays_a_number(con):
    rows = exporting.search_rows(
        con, search.Filters(customer=["C00012"]), AS_OF, sort="open_amount"
    )
    assert lines(exporting.csv_bytes(rows))[1:] == [
        "C00012,Boulangerie Lefèvre & Fils,AV-2026-0003,credit_note,2026-01-20,"
        "2026-01-20,0,-250.00,-250.00,EUR,open,Retour marchandise",
        "C00012,Boulangerie Lefèvre & Fils,FA-2026-0041,invoice,2026-01-02,"
        "2026-01-31,15,1234.56,1234.56,EUR,open,Pains spéciaux — janvier",
        "C00012,Boulangerie Lefèvre & Fils,FA-2026-0077,invoice,2026-01-15,"
        "2026-02-14,1,12500.00,12500.00,EUR,open,Four mixte 12 500 € HT remisé",
        "",
    ]


def test_basket_export_holds_its_items_open_at_the_as_of_date(con):
    ids = ids_of(con, "FA-2026-0041", "FA-2026-0077", "FA-2025-1198")
    # at 2026-01-10 FA-2026-0077 (issued 15 Jan) is not issued yet; days late:
    # 28 Dec -> 10 Jan = 13; FA-2026-0041 is due 31 Jan, not late
    rows = exporting.basket_rows(con, ids, dt.date(2026, 1, 10))
    assert lines(exporting.csv_bytes(rows))[1:] == [
        "C00027,Société Générale d'Équipement Rhône,FA-2025-1198,invoice,2025-11-28,"
        "2025-12-28,13,980.40,480.40,EUR,open,Maintenance T4 2025",
        "C00012,Boulangerie Lefèvre & Fils,FA-2026-0041,invoice,2026-01-02,"
        "2026-01-31,0,1234.56,1234.56,EUR,open,Pains spéciaux — janvier",
        "",
    ]


def test_an_empty_basket_exports_the_header_only(con):
    assert lines(exporting.csv_bytes(exporting.basket_rows(con, [], AS_OF))) == [
        HEADER_LINE,
        "",
    ]
    data = exporting.xlsx_bytes(exporting.basket_rows(con, [], AS_OF))
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert [list(row) for row in sheet.iter_rows(values_only=True)] == [
        list(exporting.COLUMNS)
    ]


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+33 1 23 45 67 89", "'+33 1 23 45 67 89"),
        ("-remise", "'-remise"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("＝1+1", "'＝1+1"),  # full-width equals sign
        ("Maintenance T4 2025", "Maintenance T4 2025"),
        ("a=b", "a=b"),
        ("'déjà cité", "'déjà cité"),
        ("", ""),
    ],
)
def test_formula_like_text_is_neutralised(text, written):
    assert exporting.neutralised(text) == written


def test_csv_neutralises_text_but_not_amounts(con, hostile):
    rows = exporting.search_rows(con, hostile, AS_OF)
    # by due date (14 Feb, then three on 19 Feb in file order); FU-2026-0005 1 day
    assert lines(exporting.csv_bytes(rows))[1:] == [
        "C00040,'=cmd|' /C calc'!A0,FU-2026-0005,invoice,2026-01-15,2026-02-14,1,"
        '2000.00,2000.00,USD,open,"\'=HYPERLINK(""http://evil.example"")"',
        "C00040,'=cmd|' /C calc'!A0,FU-2026-0009,invoice,2026-01-20,2026-02-19,0,"
        "149.99,149.99,USD,open,'+33 1 23 45 67 89",
        "C00041,'@Martin SA,'-2026-0001,invoice,2026-01-20,2026-02-19,0,"
        "10.00,10.00,EUR,open,'-remise",
        "C00041,'@Martin SA,AV-9,credit_note,2026-01-20,2026-02-19,0,"
        "-5.50,-5.50,EUR,open,Retour",
        "",
    ]


def test_xlsx_writes_text_as_text_numbers_as_numbers_dates_as_dates(con, hostile):
    data = exporting.xlsx_bytes(exporting.search_rows(con, hostile, AS_OF))
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert [c.value for c in sheet[1]] == list(exporting.COLUMNS)
    first = {name: cell for name, cell in zip(exporting.COLUMNS, sheet[2], strict=True)}

    # text: stored as typed, a string cell, quote-prefixed when it looks like a formula
    assert first["customer_name"].value == "=cmd|' /C calc'!A0"
    assert first["reference"].value == '=HYPERLINK("http://evil.example")'
    for name in ("customer_name", "reference"):
        assert (first[name].data_type, first[name].quotePrefix) == ("s", True)
    assert (first["doc_number"].data_type, first["doc_number"].quotePrefix) == (
        "s",
        False,
    )
    xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and "<f " not in xml  # not one formula in the sheet

    # amounts: numeric cells with two decimals, the exact values of the ledger
    assert first["open_amount"].data_type == "n"
    assert first["open_amount"].number_format == "0.00"
    amounts = re.findall(r'<c r="I(\d+)"[^>]*t="n"><v>([^<]+)</v>', xml)
    assert [(row, Decimal(value)) for row, value in amounts] == [
        ("2", Decimal("2000.00")),
        ("3", Decimal("149.99")),
        ("4", Decimal("10.00")),
        ("5", Decimal("-5.50")),  # a negative amount stays a number
    ]

    # dates and days late
    assert first["issue_date"].is_date
    assert first["issue_date"].value == dt.datetime(2026, 1, 15)
    assert first["due_date"].number_format == "yyyy-mm-dd"
    assert first["days_late"].value == 1
    assert [c.value for c in sheet["C"][1:]] == [
        "FU-2026-0005",
        "FU-2026-0009",
        "-2026-0001",
        "AV-9",
    ]
    assert sheet["C4"].quotePrefix is True


def test_xlsx_amounts_read_back_exactly(con):
    data = exporting.xlsx_bytes(exporting.search_rows(con, search.Filters(), AS_OF))
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    found = {row[2]: (row[7], row[8]) for row in sheet.iter_rows(2, values_only=True)}
    # float read back, compared as the decimal it prints: 2 places each
    assert {doc: (f"{a:.2f}", f"{o:.2f}") for doc, (a, o) in found.items()} == {
        "FA-2025-1198": ("980.40", "480.40"),
        "AV-2026-0003": ("-250.00", "-250.00"),
        "FA-2026-0041": ("1234.56", "1234.56"),
        "FA-2026-0077": ("12500.00", "12500.00"),
        "FA-2026-0102": ("2045.10", "2045.10"),
    }


def test_xlsx_refuses_an_amount_it_cannot_hold_exactly(con, tmp_path):
    big = tmp_path / "big.csv"
    big.write_text(
        FILE_HEADER + "C00050;Grand Compte;Facture;FA-BIG;Grosse;20/01/2026;"
        "19/02/2026;12 345 678 901 234,56;EUR;12 345 678 901 234,56\n",
        encoding="utf-8",
    )
    importing.import_file(con, big)
    only_big = search.Filters(customer=["C00050"])
    with pytest.raises(InvalidValue, match="more than 15 digits"):  # 16 digits
        exporting.xlsx_bytes(exporting.search_rows(con, only_big, AS_OF))
    csv_lines = lines(exporting.csv_bytes(exporting.search_rows(con, only_big, AS_OF)))
    assert ",12345678901234.56,12345678901234.56,EUR," in csv_lines[1]


def test_xlsx_refuses_more_rows_than_a_sheet_holds(con, monkeypatch):
    monkeypatch.setattr(exporting, "XLSX_MAX_ROWS", 3)  # a header and two rows
    everything = exporting.search_rows(con, search.Filters(), AS_OF)
    with pytest.raises(InvalidValue, match="5 items do not fit"):
        exporting.xlsx_bytes(everything)
    rows = list(exporting.search_rows(con, search.Filters(), AS_OF))
    with pytest.raises(InvalidValue, match="3 items do not fit"):
        exporting.xlsx_bytes(iter(rows))  # counted while writing when not known
    assert len(exporting.xlsx_bytes(rows[:2])) > 0


def test_write_picks_the_format_from_the_suffix(con, tmp_path):
    late = search.Filters(min_days_late=30)
    csv_path = exporting.write(
        tmp_path / "out" / "late.csv", exporting.search_rows(con, late, AS_OF)
    )
    assert csv_path.read_bytes() == exporting.csv_bytes(
        exporting.search_rows(con, late, AS_OF)
    )
    xlsx_path = exporting.write(
        tmp_path / "late.XLSX", exporting.search_rows(con, late, AS_OF)
    )
    sheet = openpyxl.load_workbook(xlsx_path).active
    assert [row[2] for row in sheet.iter_rows(2, values_only=True)] == ["FA-2025-1198"]
    with pytest.raises(InvalidValue, match=r"\.csv or \.xlsx"):
        exporting.write(tmp_path / "late.pdf", [])


def test_export_of_an_expert_search_checks_the_expression(con):
    rows = exporting.search_rows(
        con, search.Filters(where="reference ILIKE '%;%'"), AS_OF
    )
    assert [row[2] for row in rows] == ["FA-2026-0102"]  # "Livraison; palettes ..."
    with pytest.raises(InvalidValue):
        exporting.search_rows(
            con, search.Filters(where="EXISTS (FROM settings)"), AS_OF
        )
    with pytest.raises(InvalidValue, match="Cannot sort by"):
        exporting.search_rows(con, search.Filters(), AS_OF, sort="1; DROP TABLE items")
    assert con.execute("SELECT count(*) FROM items").fetchone()[0] == 5


def test_basket_file_is_written_in_the_format_of_its_suffix(con):
    ids = ids_of(con, "FA-2026-0077", "FA-2026-0041")
    # sorted by due date: 31 Jan then 14 Feb
    csv_lines = lines(exporting.basket_file(con, ids, AS_OF, ".csv"))
    assert [line.split(",")[2] for line in csv_lines[1:-1]] == [
        "FA-2026-0041",
        "FA-2026-0077",
    ]
    data = exporting.basket_file(con, ids, AS_OF, ".XLSX")
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert [row[2] for row in sheet.iter_rows(min_row=2, values_only=True)] == [
        "FA-2026-0041",
        "FA-2026-0077",
    ]
    with pytest.raises(InvalidValue, match=r"use \.csv or \.xlsx"):
        exporting.basket_file(con, ids, AS_OF, ".pdf")

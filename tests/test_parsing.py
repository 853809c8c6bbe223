"""Amounts and dates read from text, one convention per whole column."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import duckdb
import pytest

from dunning import parsing

D = dt.date


@pytest.fixture(scope="module")
def db():
    """A DuckDB engine to run the SQL that parsing builds."""
    connection = duckdb.connect()
    yield connection
    connection.close()


def number(db, text: str | None, mark: str) -> Decimal | None:
    convention = parsing.NumberConvention(mark, True)
    sql = parsing.number_sql("cell", convention)
    return db.execute(
        f"SELECT {sql} FROM (SELECT ?::VARCHAR AS cell)", [text]
    ).fetchone()[0]


def date(db, text: str | None, order: str | None, serials: bool = False):
    sql = parsing.date_sql("cell", order, serials)
    return db.execute(
        f"SELECT {sql} FROM (SELECT ?::VARCHAR AS cell)", [text]
    ).fetchone()[0]


def column(db, values: list[str | None]) -> str:
    db.execute("CREATE OR REPLACE TABLE col (cell VARCHAR)")
    db.executemany("INSERT INTO col VALUES (?)", [[value] for value in values])
    return "col"


# ---------------------------------------------------------------------------
# Numbers


@pytest.mark.parametrize(
    ("text", "mark", "expected"),
    [
        pytest.param("1234.56", ".", "1234.56", id="dot decimal"),
        pytest.param("1 234,56", ",", "1234.56", id="space thousands, comma decimal"),
        pytest.param("1\u00a0234,56", ",", "1234.56", id="no-break space thousands"),
        pytest.param("1\u202f234,56", ",", "1234.56", id="narrow no-break space"),
        pytest.param("12\u00a0500,00", ",", "12500.00", id="case 01 FA-2026-0077"),
        pytest.param("1.234,56", ",", "1234.56", id="dot thousands, comma decimal"),
        pytest.param("1,234.56", ".", "1234.56", id="comma thousands, dot decimal"),
        pytest.param("1 234 567,89", ",", "1234567.89", id="two groups"),
        pytest.param("-12,00", ",", "-12.00", id="leading minus"),
        pytest.param("-250,00", ",", "-250.00", id="case 01 credit note"),
        pytest.param("(12.00)", ".", "-12.00", id="accounting parentheses"),
        pytest.param("(12,00)", ",", "-12.00", id="parentheses, comma decimal"),
        pytest.param("12-", ",", "-12.00", id="trailing minus"),
        pytest.param("+5", ".", "5.00", id="plus sign"),
        pytest.param("12,5", ",", "12.50", id="one decimal"),
        pytest.param("1234", ",", "1234.00", id="no decimals"),
        pytest.param("0,70", ",", "0.70", id="cents"),
        pytest.param("12,340", ",", "12.34", id="12.340 = 12.34, nothing lost"),
        pytest.param("12 500,00 €", ",", "12500.00", id="euro sign after"),
        pytest.param("€12.00", ".", "12.00", id="euro sign before"),
        pytest.param("3150,00 EUR", ",", "3150.00", id="currency code after"),
    ],
)
def test_number_parses_with_the_column_convention(db, text, mark, expected):
    assert number(db, text, mark) == Decimal(expected)


@pytest.mark.parametrize(
    ("text", "mark"),
    [
        pytest.param("12,345", ",", id="three decimals in a comma column"),
        pytest.param("1234,567", ",", id="three decimals, no grouping"),
        pytest.param("12.345,678", ",", id="grouped with three decimals"),
        pytest.param("12.34", ",", id="dot decimal in a comma column"),
        pytest.param("12,00", ".", id="comma decimal in a dot column"),
        pytest.param("1,23,456.00", ".", id="irregular grouping"),
        pytest.param("1.2.3", ",", id="two dots"),
        pytest.param("0,001", ".", id="grouping from zero is no thousand"),
        pytest.param("0.500", ",", id="0.500 is not 500"),
        pytest.param("--12", ".", id="double minus"),
        pytest.param("1x0,00", ",", id="letter inside"),
        pytest.param("abc", ",", id="text"),
        pytest.param("", ",", id="empty"),
        pytest.param(None, ",", id="null"),
        pytest.param("99999999999999999,99", ",", id="17 integer digits overflow"),
    ],
)
def test_number_that_does_not_follow_the_convention_is_null(db, text, mark):
    assert number(db, text, mark) is None


@pytest.mark.parametrize(
    ("values", "decimal", "settled", "noted"),
    [
        pytest.param(["1 234,56", "12,345"], ",", True, False, id="comma settled"),
        pytest.param(["1234.56", "(12.00)"], ".", True, False, id="dot settled"),
        pytest.param(["1.234,56", "15"], ",", True, False, id="both marks: comma"),
        pytest.param(["1,234.56", "15"], ".", True, False, id="both marks: dot"),
        pytest.param(["1,234", "12,345"], ".", False, True, id="comma thousands only"),
        pytest.param(["1.234", "2.500"], ",", False, True, id="dot thousands only"),
        pytest.param(["12,50", "3.20"], ",", True, True, id="1 comma vs 1 dot: mixed"),
        pytest.param(["100", "200", None], ".", False, False, id="integers only"),
    ],
)
def test_decimal_mark_is_decided_from_the_whole_column(
    db, values, decimal, settled, noted
):
    found = parsing.detect_number(db, column(db, values), "cell")
    assert (found.decimal, found.settled, bool(found.note)) == (
        decimal,
        settled,
        noted,
    )


# ---------------------------------------------------------------------------
# Dates


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        pytest.param("2025-01-31", None, D(2025, 1, 31), id="ISO"),
        pytest.param("2025-01-31", "mdy", D(2025, 1, 31), id="ISO whatever order"),
        pytest.param("2025-01-31 00:00:00", None, D(2025, 1, 31), id="ISO timestamp"),
        pytest.param("2025-01-31T10:30", None, D(2025, 1, 31), id="ISO with T"),
        pytest.param("2025/01/31", None, D(2025, 1, 31), id="year first, slashes"),
        pytest.param("31/01/2025", "dmy", D(2025, 1, 31), id="dd/mm/yyyy"),
        pytest.param("01/31/2025", "mdy", D(2025, 1, 31), id="mm/dd/yyyy"),
        pytest.param("1/2/2013", "mdy", D(2013, 1, 2), id="IBM m/d/yyyy"),
        pytest.param("1/2/2013", "dmy", D(2013, 2, 1), id="d/m/yyyy"),
        pytest.param("31.01.2025", "dmy", D(2025, 1, 31), id="dotted"),
        pytest.param("31-01-2025", "dmy", D(2025, 1, 31), id="dashed"),
        pytest.param("31/01/25", "dmy", D(2025, 1, 31), id="two-digit year"),
        pytest.param("20250131", None, D(2025, 1, 31), id="yyyymmdd (FEC)"),
        pytest.param("20241205", None, D(2024, 12, 5), id="FEC PieceDate"),
        pytest.param("29/02/2024", "dmy", D(2024, 2, 29), id="leap day 2024"),
        pytest.param(" 31/08/2025 ", "dmy", D(2025, 8, 31), id="padded"),
    ],
)
def test_date_parses(db, text, order, expected):
    assert date(db, text, order) == expected


@pytest.mark.parametrize(
    ("text", "order"),
    [
        pytest.param("00/00/0000", "dmy", id="zero date"),
        pytest.param("31/02/2025", "dmy", id="31 February: no roll-over to March"),
        pytest.param("29/02/2025", "dmy", id="2025 is not a leap year"),
        pytest.param("2025-02-30", None, id="ISO 30 February"),
        pytest.param("01/31/2025", "dmy", id="month 31 read day-first"),
        pytest.param("13/13/2025", "dmy", id="month 13"),
        pytest.param("00000000", None, id="zero yyyymmdd"),
        pytest.param("   ", "dmy", id="spaces only"),
        pytest.param("", "dmy", id="empty"),
        pytest.param("soon", "dmy", id="text"),
        pytest.param("45658", "dmy", id="a number is no date outside Excel"),
    ],
)
def test_impossible_date_is_null(db, text, order):
    assert date(db, text, order) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("45658", D(2025, 1, 1), id="serial 45658 = 2025-01-01"),
        pytest.param("45688", D(2025, 1, 31), id="45658 + 30 = 2025-01-31"),
        pytest.param("45688.0", D(2025, 1, 31), id="serial written as float"),
    ],
)
def test_excel_serial_dates(db, text, expected):
    assert date(db, text, "dmy", serials=True) == expected


@pytest.mark.parametrize(
    ("values", "order", "settled", "ambiguous"),
    [
        pytest.param(["13/01/2025", "03/04/2025"], "dmy", True, False, id="13 first"),
        pytest.param(["01/13/2025", "03/04/2025"], "mdy", True, False, id="13 second"),
        pytest.param(["1/2/2013", "2/25/2013"], "mdy", True, False, id="IBM dates"),
        pytest.param(["01/02/2025", "03/04/2025"], None, False, True, id="all <= 12"),
        pytest.param(["00/00/0000", "03/04/2025"], None, False, True, id="zero + amb"),
        pytest.param(["01/01/2025", "02/02/2025"], None, False, False, id="same read"),
        pytest.param(["2025-01-31", "20250131"], None, True, False, id="no slashes"),
        pytest.param(
            ["13/01/2025", "14/01/2025", "01/13/2025"],
            "dmy",
            True,
            False,
            id="2 day-first vs 1 month-first",
        ),
    ],
)
def test_date_order_is_decided_from_the_whole_column(
    db, values, order, settled, ambiguous
):
    found = parsing.detect_date(db, column(db, values), "cell")
    assert (found.order, found.settled, found.ambiguous) == (order, settled, ambiguous)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("  C00012 ", "C00012", id="trimmed"),
        pytest.param("\u00a0Lefèvre\u202f", "Lefèvre", id="odd spaces trimmed"),
        pytest.param("   ", None, id="spaces only is empty"),
        pytest.param("", None, id="empty"),
        pytest.param("00027", "00027", id="leading zeros kept"),
    ],
)
def test_clean_text(db, text, expected):
    sql = parsing.clean("cell")
    found = db.execute(f"SELECT {sql} FROM (SELECT ?::VARCHAR AS cell)", [text])
    assert found.fetchone()[0] == expected

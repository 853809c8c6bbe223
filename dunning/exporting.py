"""Statements of items as CSV and XLSX files: every match of a search, or the basket.

Amounts are written as exact decimals and dates as dates. A text cell that a
spreadsheet would read as a formula (it starts with =, +, -, @, a tab or a carriage
return) is neutralised (DESIGN 11): a leading apostrophe in CSV, a text cell with
Excel's quote prefix in XLSX. Numbers stay numbers, a negative amount included.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator, Sized
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from dunning import ledger, money, search
from dunning.errors import InvalidValue

COLUMNS = (
    "customer_number",
    "customer_name",
    "doc_number",
    "doc_type",
    "issue_date",
    "due_date",
    "days_late",
    "amount",
    "open_amount",
    "currency",
    "status",
    "reference",
)
AMOUNT_COLUMNS = ("amount", "open_amount")
DATE_COLUMNS = ("issue_date", "due_date")

# First characters that make a spreadsheet evaluate a cell (OWASP "CSV injection"),
# with the full-width forms some spreadsheets also accept.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")

XLSX_MAX_ROWS = 1_048_576  # Excel's sheet size, the header row included
XLSX_DIGITS = 15  # Excel keeps 15 significant digits of a number
AMOUNT_FORMAT = "0.00"
DATE_FORMAT = "yyyy-mm-dd"
BATCH_ROWS = 10_000


class Rows:
    """The rows of an export in COLUMNS order, read once from DuckDB in batches.

    Holds its own cursor, closed when the rows have been read (or by `close`).
    """

    def __init__(self, cursor: duckdb.DuckDBPyConnection, count: int):
        self.cursor = cursor
        self.count = count

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[tuple]:
        try:
            while batch := self.cursor.fetchmany(BATCH_ROWS):
                yield from batch
        finally:
            self.close()

    def close(self) -> None:
        self.cursor.close()


def search_rows(
    con: duckdb.DuckDBPyConnection,
    filters: search.Filters,
    as_of: dt.date,
    sort: str = "due_date",
    descending: bool = False,
) -> Rows:
    """Every match of the search at the as-of date, not only the page on screen."""
    matches, params = search.matches_sql(filters, as_of)
    return _rows(con, matches, params, sort, descending, expert=bool(filters.where))


def search_file(
    con: duckdb.DuckDBPyConnection,
    filters: search.Filters,
    as_of: dt.date,
    suffix: str,
    sort: str = "due_date",
    descending: bool = False,
) -> bytes:
    """Every match of the search as the bytes of a .csv or .xlsx file."""
    writer = _writer(suffix)
    return writer(search_rows(con, filters, as_of, sort, descending))


def basket_rows(
    con: duckdb.DuckDBPyConnection,
    ids: Iterable[int],
    as_of: dt.date,
    sort: str = "due_date",
    descending: bool = False,
) -> Rows:
    """The basket's items that are open at the as-of date."""
    selected = (
        f"SELECT o.* FROM ({ledger.items_at()}) o "
        "JOIN (SELECT unnest($basket_ids::BIGINT[]) AS item_id) s USING (item_id)"
    )
    params = {"as_of": as_of, "basket_ids": sorted(int(i) for i in ids)}
    return _rows(con, selected, params, sort, descending, expert=False)


def basket_file(
    con: duckdb.DuckDBPyConnection,
    ids: Iterable[int],
    as_of: dt.date,
    suffix: str,
    sort: str = "due_date",
    descending: bool = False,
) -> bytes:
    """The basket's items open at the as-of date as the bytes of a .csv or .xlsx."""
    writer = _writer(suffix)
    return writer(basket_rows(con, ids, as_of, sort, descending))


def _writer(suffix: str):
    """The writer of a file suffix, or InvalidValue naming the two there are."""
    writer = WRITERS.get(suffix.lower())
    if writer is None:
        raise InvalidValue(f"Cannot export to {suffix!r}: use .csv or .xlsx.")
    return writer


def _rows(con, sql: str, params: dict, sort: str, descending: bool, expert: bool):
    """Rows of a query: matched under the search's time limit, then streamed.

    The matching (where an expert expression runs) is stopped after the time limit
    and kept in a temporary table of the export's own cursor; writing a large file
    from it afterwards may take longer than that limit.
    """
    if sort not in search.SORTABLE:
        raise InvalidValue(
            f"Cannot sort by {sort!r}: use one of {', '.join(search.SORTABLE)}."
        )
    order = f"{sort} {'DESC' if descending else 'ASC'} NULLS LAST, item_id"
    cursor = con.cursor()
    try:
        with search.time_limit(cursor, expert=expert):
            cursor.execute(
                "CREATE TEMP TABLE export_rows AS "
                f"SELECT {', '.join(search.SORTABLE)} FROM ({sql})",
                params,
            )
        count = cursor.execute("SELECT count(*) FROM export_rows").fetchone()[0]
        cursor.execute(f"SELECT {', '.join(COLUMNS)} FROM export_rows ORDER BY {order}")
    except BaseException:
        cursor.close()
        raise
    return Rows(cursor, count)


def neutralised(text: str) -> str:
    """Text a spreadsheet shows as typed: a formula-like start gets an apostrophe."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_bytes(rows: Iterable[tuple]) -> bytes:
    """A CSV file: comma separated, dot decimals, ISO dates, UTF-8 with a BOM.

    The byte-order mark lets Excel read accents as UTF-8 instead of the local
    code page; Python and pandas read it as well ("utf-8-sig").
    """
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    writer.writerows(tuple(_csv_value(value) for value in row) for row in rows)
    return buffer.getvalue().encode("utf-8-sig")


def _csv_value(value: Any) -> str | int:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return money.as_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return neutralised(value)
    return value


def xlsx_bytes(rows: Iterable[tuple]) -> bytes:
    """An XLSX workbook of one sheet: numbers as numbers, dates as dates, text as text.

    Amounts are numeric cells with the 0.00 format. openpyxl writes a number with 16
    significant digits and Excel keeps 15, so an amount with more digits than that
    cannot be written exactly and the export is refused rather than rounded.
    """
    from openpyxl import Workbook  # imported here: only an export needs it
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    if isinstance(rows, Sized) and len(rows) >= XLSX_MAX_ROWS:
        raise _too_many(len(rows))
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Items")
    sheet.freeze_panes = "A2"
    header = []
    for name in COLUMNS:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)

    def cell(column: str, value: Any) -> Any:
        if value is None or isinstance(value, int):
            return value
        if isinstance(value, str):
            value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)  # XML cannot hold them
        written = WriteOnlyCell(sheet, value=value)
        if column in AMOUNT_COLUMNS:
            _check_digits(value)
            written.number_format = AMOUNT_FORMAT
        elif column in DATE_COLUMNS:
            written.number_format = DATE_FORMAT
        else:
            written.data_type = "s"  # never a formula or an error code
            if value.startswith(FORMULA_STARTS):
                written.quotePrefix = True  # stays text when edited in Excel
        return written

    try:
        for number, row in enumerate(rows, start=2):
            if number > XLSX_MAX_ROWS:
                raise _too_many(number - 1)
            sheet.append([cell(c, v) for c, v in zip(COLUMNS, row, strict=True)])
    except BaseException:
        with contextlib.suppress(Exception):
            workbook.save(io.BytesIO())  # closes and removes the sheet's temp file
        raise
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _check_digits(value: Decimal) -> None:
    if len(value.as_tuple().digits) > XLSX_DIGITS:
        raise InvalidValue(
            f"The amount {value} has more than {XLSX_DIGITS} digits, which a "
            "spreadsheet cannot hold exactly: export to CSV instead."
        )


def _too_many(count: int) -> InvalidValue:
    return InvalidValue(
        f"{count:,} items do not fit in one XLSX sheet (at most "
        f"{XLSX_MAX_ROWS - 1:,}): narrow the search or export to CSV."
    )


WRITERS = {".csv": csv_bytes, ".xlsx": xlsx_bytes}


def write(path: str | Path, rows: Iterable[tuple]) -> Path:
    """Write the rows to a .csv or .xlsx file (by its suffix) and return its path."""
    path = Path(path)
    writer = WRITERS.get(path.suffix.lower())
    if writer is None:
        raise InvalidValue(
            f"Cannot export to {path.name!r}: name a .csv or .xlsx file."
        )
    data = writer(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path

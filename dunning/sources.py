"""Reading a ledger file into a staging table of text columns.

Every format ends the same way: a temporary DuckDB table whose columns are the file's
columns as text (``c0``, ``c1`` ...) plus ``line``, the line or row number a person
sees when they open the file. Parsing amounts and dates happens later, in SQL, once
the conventions of each whole column are known. A delimited file is first sniffed
(encoding, separator, header) without being read whole, so that the importer can
also hand DuckDB's reader the column types it detected instead.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import math
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from dunning.errors import ImportRefused

DELIMITERS = [";", "\t", "|", ","]
FORMATS = ("auto", "csv", "excel", "fec", "parquet")
_CHUNK = 1 << 22
_SNIFF_BYTES = 1 << 16

# How an amount typed as text ends with each decimal mark, once spaces and currency
# symbols are removed: "1234,56", "(12,5)", "12,00-", or grouped "1.234,56".
_TEXT_DECIMALS = {
    ",": re.compile(r",\d{1,2}\)?-?$|\.\d{3},"),
    ".": re.compile(r"\.\d{1,2}\)?-?$|,\d{3}\."),
}
OVERFLOW = "c_overflow"  # staging column for fields past the header's
_SPACES_AND_SYMBOLS = re.compile(r"[\s\u00a0\u202f\u2007€$£]|EUR|USD|GBP|CHF")


@dataclass
class Source:
    """A file staged as text columns, with what was detected while reading it."""

    table: str
    columns: list[str]
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    header_line: int = 1
    rows: int = 0
    malformed: list[dict] = field(default_factory=list)
    text_path: Path | None = None  # the UTF-8 text of a delimited file

    def column_id(self, name: str) -> str:
        """The staging column (c0, c1 ...) holding the file's column `name`."""
        return f"c{self.columns.index(name)}"


def file_hash(path: Path) -> str:
    """SHA-256 of the file's bytes, to recognise the same file imported twice."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def scan_bytes(path: Path) -> tuple[str, int]:
    """SHA-256 and physical line count of a file, in one pass over its bytes.

    Both need every byte; reading them once halves the work on a large file. The
    count is the one `line_count` gives (a last line may lack its line feed).
    """
    digest = hashlib.sha256()
    count, last = 0, b"\n"
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return digest.hexdigest(), count + (last != b"\n")


def detect_format(path: Path, requested: str = "auto") -> str:
    """csv, excel, fec or parquet, from the option, the name and the first bytes."""
    if requested not in FORMATS:
        raise ImportRefused(
            f"Unknown format {requested!r}: use one of {', '.join(FORMATS)}."
        )
    if requested != "auto":
        return requested
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04"):
        return "excel"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportRefused(
            f"{path.name} is an old binary Excel file (.xls). Save it as .xlsx or CSV "
            "from Excel, then import it again."
        )
    first_line = head.split(b"\n", 1)[0].lower()
    if b"journalcode" in first_line and b"comptenum" in first_line:
        return "fec"
    return "csv"


# Every byte but the C1 range 0x80-0x9F, deleted to find out whether any is left.
_NOT_C1 = bytes(b for b in range(256) if not 0x80 <= b <= 0x9F)


def detect_encoding(path: Path) -> str:
    """utf-8-sig, utf-8, cp1252 or iso-8859-15, read from the whole file.

    UTF-8 is recognised by decoding every byte. Otherwise the file is single-byte:
    bytes 0x80-0x9F exist only in cp1252 (€ — œ ...), and 0xA4 is € only in
    ISO-8859-15; latin-1 itself is never chosen since it would turn € into ¤.
    """
    with path.open("rb") as handle:
        head = handle.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return "utf-16"
    if _is_utf8(path):
        return "utf-8"
    c1_bytes = has_a4 = False
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            c1_bytes = c1_bytes or bool(chunk.translate(None, _NOT_C1))
            has_a4 = has_a4 or b"\xa4" in chunk
    if c1_bytes:
        return "cp1252"
    return "iso-8859-15" if has_a4 else "cp1252"


def _is_utf8(path: Path) -> bool:
    """Whether every byte decodes as UTF-8.

    A chunk of ASCII bytes with no sequence pending from the previous chunk is
    valid as it is; checking that is much faster than decoding it.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as handle:
        try:
            while chunk := handle.read(_CHUNK):
                if not (chunk.isascii() and not decoder.getstate()[0]):
                    decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def _utf8_copy(path: Path, encoding: str, folder: Path, checked: bool) -> Path:
    """The file as UTF-8 without BOM, for DuckDB's reader (which reads only UTF-8).

    A file whose detection read it as UTF-8 (`checked`) is used as it is; one said
    to be UTF-8 by the user is decoded like any other, to report a bad byte here.
    """
    if encoding == "utf-8" and checked:
        return path
    # The BOM is skipped here rather than by utf-8-sig, so offsets stay the file's.
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    try:
        decoder = codecs.getincrementaldecoder(codec)()
    except LookupError as error:
        raise ImportRefused(
            f"Unknown encoding {encoding!r}: use utf-8, cp1252, iso-8859-15 or latin-1."
        ) from error
    target = folder / "source-utf8.csv"
    lines = 0
    with (
        path.open("rb") as source,
        target.open("w", encoding="utf-8", newline="") as copy,
    ):
        if source.read(len(codecs.BOM_UTF8)) != codecs.BOM_UTF8 or codec != "utf-8":
            source.seek(0)
        offset = source.tell()
        while True:
            chunk = source.read(_CHUNK)
            pending = len(decoder.getstate()[0])
            try:
                copy.write(decoder.decode(chunk, final=not chunk))
            except UnicodeDecodeError as error:
                raise _not_in_encoding(
                    path, encoding, error, offset - pending, lines
                ) from error
            if not chunk:
                return target
            offset += len(chunk)
            lines += chunk.count(b"\n")


def _not_in_encoding(path, encoding, error, chunk_start, lines) -> ImportRefused:
    """The refusal of a file with a byte its encoding cannot read, placed by line."""
    bad = error.object[error.start]
    line = lines + error.object[: error.start].count(b"\n") + 1
    return ImportRefused(
        f"{path.name} is not in the {encoding} encoding: byte {bad:#04x} on line "
        f"{line} (offset {chunk_start + error.start}) cannot be read. Give the right "
        "encoding (--encoding cp1252, utf-8, iso-8859-15)."
    )


def _head_records(text_path: Path, delimiter: str, limit: int = 40) -> list[list[str]]:
    with text_path.open("r", encoding="utf-8", newline="") as handle:
        sample = handle.read(_SNIFF_BYTES)
    complete = sample.rsplit("\n", 1)[0] if "\n" in sample else sample
    reader = csv.reader(io.StringIO(complete), delimiter=delimiter)
    records = []
    for record in reader:
        records.append(record)
        if len(records) >= limit:
            break
    return records


def detect_delimiter(text_path: Path) -> str:
    """The separator among ; tab | , that splits the lines most regularly.

    Regularity is the share of lines with the usual field count, weighed by the log
    of that count: decimal commas split every line of a French export into a few
    regular fields, while its real separator gives many columns even when some
    lines hold a stray separator.
    """
    best, best_score = ",", -1.0
    for delimiter in DELIMITERS:
        records = [r for r in _head_records(text_path, delimiter) if any(r)]
        if not records:
            continue
        counts = [len(r) for r in records]
        usual = max(sorted(set(counts)), key=counts.count)
        if usual < 2:
            continue
        score = counts.count(usual) / len(counts) * math.log(usual)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def clean_header(names: list[str]) -> list[str]:
    """Column names as a person reads them: no BOM, no padding, unique."""
    cleaned: list[str] = []
    for index, name in enumerate(names):
        text = str(name if name is not None else "").replace("\ufeff", "").strip()
        text = text.strip('"').strip() or f"column {index + 1}"
        candidate, suffix = text, 2
        while candidate in cleaned:
            candidate, suffix = f"{text} ({suffix})", suffix + 1
        cleaned.append(candidate)
    return cleaned


def find_header(records: list[list], is_header) -> int:
    """Index of the header row: the first row that names known columns.

    Title rows above the header (a report name, a date, blank rows) are skipped; when
    no row looks like a header the first non-empty row is taken.
    """
    for index, record in enumerate(records[:30]):
        if is_header([str(cell) for cell in record if cell not in (None, "")]):
            return index
    for index, record in enumerate(records):
        if any(cell not in (None, "") for cell in record):
            return index
    raise ImportRefused("The file is empty: it has no header and no rows.")


def sniff_csv(
    path: Path,
    is_header,
    workdir: Path,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> Source:
    """Encoding, separator, header and columns of a delimited file (TXT, CSV, FEC).

    Only the head is parsed (the encoding check and a conversion to UTF-8 read all
    bytes); the returned source has no staging table yet.
    """
    checked = encoding is None
    encoding = encoding or detect_encoding(path)
    text_path = _utf8_copy(path, encoding, workdir, checked)
    delimiter = delimiter or detect_delimiter(text_path)
    records = _head_records(text_path, delimiter)
    if not records:
        raise ImportRefused(f"{path.name} is empty: it has no header and no rows.")
    header_index = find_header(records, is_header)
    header = records[header_index]
    # Data lines that all carry a field the header does not name get a column
    # for it ("column 7"); a line longer than the others is a malformed line.
    usual = _usual_width(records[header_index + 1 :])
    columns = clean_header(header + [""] * (usual - len(header)))
    skip = _physical_lines(text_path, delimiter, header_index + 1)
    return Source(
        table="",
        columns=columns,
        format="csv",
        encoding=encoding,
        delimiter=delimiter,
        header_line=skip,
        text_path=text_path,
    )


def csv_options(
    source: Source, types: dict[str, str], rejects: bool = True, **extra
) -> dict:
    """The options of DuckDB's `read_csv` for a sniffed file, columns typed by `types`.

    Every read of one file shares them, so that the text staging, the importer's
    scan of values and its typed read split the lines the same way. The column
    past the header's (`c_overflow`) catches lines with an unquoted separator.
    With `rejects`, lines the reader cannot split are kept in `staging_rejects`
    instead of failing the read (storing them costs a little on every line).
    """
    options = dict(
        delim=source.delimiter,
        quote='"',
        escape='"',
        header=False,
        skip=source.header_line,
        auto_detect=False,
        columns={**types, OVERFLOW: "VARCHAR"},
        null_padding=True,
        strict_mode=False,
    )
    if rejects:
        options.update(
            store_rejects=True,
            rejects_table="staging_rejects",
            rejects_scan="staging_reject_scans",
        )
    return {**options, **extra}


def read_csv_sql(options: dict) -> str:
    """`read_csv(...)` with named parameters: `$path` and one per option."""
    args = ", ".join(f"{key} := ${key}" for key in options)
    return f"read_csv($path, {args})"


def stage_text(
    con: duckdb.DuckDBPyConnection, source: Source, table: str, lines: int | None = None
) -> Source:
    """Stage a sniffed delimited file as text columns (`lines`: its line count)."""
    text_path = source.text_path
    skip = source.header_line
    types = {f"c{i}": "VARCHAR" for i in range(len(source.columns))}
    options = csv_options(source, types)
    serial = _read_csv_into(con, table, text_path, options, header_line=skip)
    staged = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    if lines is None:
        lines = line_count(text_path)
    if serial or lines - skip != staged:
        _number_physical_lines(con, table, text_path, source.delimiter, skip)
    source.malformed = _rejected_lines(con) + _overfull_lines(
        con, table, len(source.columns)
    )
    source.rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    source.table = table
    return source


def stage_csv(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    table: str,
    is_header,
    workdir: Path,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> Source:
    """Stage a delimited text file (CSV, TXT, FEC) as text columns."""
    source = sniff_csv(path, is_header, workdir, encoding, delimiter)
    return stage_text(con, source, table)


def _usual_width(records: list[list[str]]) -> int:
    """The most common count of fields up to the last filled one, 0 for no records."""
    counts = [
        max(index for index, value in enumerate(record) if value) + 1
        for record in records
        if any(record)
    ]
    return max(sorted(set(counts)), key=counts.count) if counts else 0


def _overfull_lines(con, table: str, width: int) -> list[dict]:
    """Lines with more fields than the header, taken out of the staged rows.

    An unquoted separator inside a label shifts every later field of its line; the
    staging table has one column past the header's to catch that. Empty trailing
    fields (a separator ending each line) are harmless and kept.
    """
    overfull = f"NULLIF(trim({OVERFLOW}), '') IS NOT NULL"
    lines = con.execute(
        f"SELECT line FROM {table} WHERE {overfull} ORDER BY line"
    ).fetchall()
    con.execute(f"DELETE FROM {table} WHERE {overfull}")
    con.execute(f"ALTER TABLE {table} DROP COLUMN {OVERFLOW}")
    message = f"it has more fields than the {width} columns of the header"
    return [{"line": line, "message": message} for (line,) in lines]


def _physical_lines(text_path: Path, delimiter: str, records: int) -> int:
    """How many physical lines the first `records` records take (quoted newlines)."""
    with text_path.open("r", encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        for _ in range(records):
            next(reader, None)
        return reader.line_num


def _read_csv_into(con, table, text_path, options, header_line) -> bool:
    """Create the staging table; the parallel reader first, the serial one if needed.

    DuckDB's parallel reader refuses exactly the files with a newline inside a
    quoted field; True tells that the serial reader was used for such a file.
    """
    try:
        _create_from_csv(con, table, text_path, options, header_line)
    except duckdb.Error as error:
        if "parallel" not in str(error):
            raise ImportRefused(
                f"The file cannot be read as delimited text: {_first_line(error)}"
            ) from error
        con.execute(f"DROP TABLE IF EXISTS {table}")
        serial = dict(options, parallel=False)
        _create_from_csv(con, table, text_path, serial, header_line)
        return True
    return False


def _create_from_csv(con, table, text_path, options, header_line) -> None:
    con.execute(
        f"CREATE TEMP TABLE {table} AS "
        f"SELECT ordinality + {header_line} AS line, * EXCLUDE (ordinality) "
        f"FROM {read_csv_sql(options)} WITH ORDINALITY",
        {"path": str(text_path), **options},
    )


def line_count(text_path: Path) -> int:
    """The file's physical lines, counted by line feeds (a last one may lack it).

    When the rows staged fall short of the lines after the header, some record
    spans lines or the reader skipped empty ones, and the rows need renumbering.
    """
    count, last = 0, b"\n"
    with text_path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")


def _record_start_lines(text_path: Path, delimiter: str, skip: int) -> list[int]:
    """The physical line on which each non-empty record after line `skip` starts."""
    starts = []
    with text_path.open("r", encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        consumed = 0
        for record in reader:
            start, consumed = consumed + 1, reader.line_num
            if start > skip and record:
                starts.append(start)
    return starts


def _number_physical_lines(con, table, text_path, delimiter, skip) -> None:
    """Number the staged rows by the physical line where each record starts.

    The reader numbers records, which drifts from the lines a person sees after a
    quoted field holding a newline or after an empty line. When Python's reader
    splits the file into as many records as DuckDB's, the rows are renumbered.
    """
    import pyarrow as pa  # loaded on demand: it takes a tenth of a second

    starts = _record_start_lines(text_path, delimiter, skip)
    rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    if len(starts) != rows:
        return
    numbering = pa.table(  # noqa: F841 - read by DuckDB's replacement scan
        {
            "record_line": pa.array(range(skip + 1, skip + rows + 1), pa.int64()),
            "start_line": pa.array(starts, pa.int64()),
        }
    )
    con.execute(
        f"UPDATE {table} SET line = n.start_line FROM numbering n "
        f"WHERE {table}.line = n.record_line"
    )


def _rejected_lines(con) -> list[dict]:
    """Lines DuckDB's reader could not split into the header's columns."""
    try:
        rows = con.execute(
            "SELECT line, error_message FROM staging_rejects ORDER BY line"
        ).fetchall()
    except duckdb.Error:
        return []
    return [{"line": line, "message": message} for line, message in rows]


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]


def stage_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    columns: list[str],
    rows: list[tuple[int, list[str | None]]],
    fmt: str,
) -> Source:
    """Stage rows read in Python (Excel) as text columns."""
    import pyarrow as pa  # loaded on demand: it takes a tenth of a second

    data = {"line": pa.array([line for line, _ in rows], pa.int64())}
    for index in range(len(columns)):
        data[f"c{index}"] = pa.array(
            [values[index] if index < len(values) else None for _, values in rows],
            pa.string(),
        )
    arrow_table = pa.table(data)  # noqa: F841 - read by DuckDB's replacement scan
    con.execute(f"CREATE TEMP TABLE {table} AS SELECT * FROM arrow_table")
    return Source(table=table, columns=columns, format=fmt, rows=len(rows))


def stage_excel(con, path: Path, table: str, is_header) -> Source:
    """Stage the first sheet with a recognisable header, as a person reads it."""
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as error:  # calamine raises its own error types
        raise ImportRefused(
            f"{path.name} cannot be read as an Excel workbook ({error}). Open it in "
            "Excel and save it as .xlsx, or export it as CSV."
        ) from error
    chosen = None
    for name in workbook.sheet_names:
        sheet_rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
        if not sheet_rows:
            continue
        try:
            header_index = find_header(sheet_rows, is_header)
        except ImportRefused:
            continue
        names = [str(c) for c in sheet_rows[header_index] if c not in (None, "")]
        if is_header(names):
            chosen = (name, sheet_rows, header_index)
            break
        chosen = chosen or (name, sheet_rows, header_index)
    if chosen is None:
        raise ImportRefused(f"{path.name} has no sheet with data.")
    _, sheet_rows, header_index = chosen
    columns = clean_header(list(sheet_rows[header_index]))
    records = sheet_rows[header_index + 1 :]
    marks = _decimal_marks(records, len(columns))
    rows = []
    for offset, record in enumerate(records):
        values = [
            cell_text(cell, marks[index] if index < len(marks) else ".")
            for index, cell in enumerate(record)
        ]
        if any(value is not None for value in values):
            rows.append((header_index + offset + 2, values))
    source = stage_rows(con, table, columns, rows, "excel")
    source.header_line = header_index + 1
    return source


def _decimal_marks(records: list[list], width: int) -> list[str]:
    """Per column, the decimal mark its amounts typed as text use ("," or ".").

    Excel keeps a real number without any decimal mark, while amounts typed as
    text carry the writer's ("1 234,56"). The column is parsed later with one
    convention, so its real numbers are written with the mark of its text cells.
    """
    fractional = {
        index
        for record in records
        for index, cell in enumerate(record[:width])
        if isinstance(cell, float) and not cell.is_integer()
    }
    marks = ["."] * width
    for index in fractional:
        counts = dict.fromkeys(_TEXT_DECIMALS, 0)
        for record in records:
            cell = record[index] if index < len(record) else None
            if isinstance(cell, str):
                bare = _SPACES_AND_SYMBOLS.sub("", cell)
                for mark, pattern in _TEXT_DECIMALS.items():
                    counts[mark] += bool(pattern.search(bare))
        marks[index] = "," if counts[","] > counts["."] else "."
    return marks


def cell_text(cell, decimal: str = ".") -> str | None:
    """An Excel cell as the text a person sees: 12.0 -> "12", dates in ISO.

    A number with decimals is written with `decimal` as its mark, the one the
    rest of its column uses.
    """
    if cell is None or cell == "":
        return None
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, dt.datetime):
        return cell.date().isoformat() if cell.time() == dt.time() else cell.isoformat()
    if isinstance(cell, dt.date):
        return cell.isoformat()
    if isinstance(cell, float):
        if cell.is_integer():
            return str(int(cell))
        text = f"{cell:.2f}" if abs(round(cell, 2) - cell) < 1e-9 else repr(cell)
        return text.replace(".", decimal)
    return str(cell)


def stage_parquet(con, path: Path, table: str) -> Source:
    """Stage a Parquet file; typed columns become text in their ISO form."""
    try:
        described = con.execute(
            "DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]
        ).fetchall()
    except duckdb.Error as error:
        raise ImportRefused(
            f"{path.name} cannot be read as Parquet ({_first_line(error)})."
        ) from error
    columns = clean_header([row[0] for row in described])
    casts = ", ".join(
        f'CAST("{row[0]}" AS VARCHAR) AS c{i}' for i, row in enumerate(described)
    )
    con.execute(
        f"CREATE TEMP TABLE {table} AS SELECT ordinality AS line, {casts} "
        "FROM read_parquet(?) WITH ORDINALITY",
        [str(path)],
    )
    rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return Source(table=table, columns=columns, format="parquet", rows=rows)


def stage(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    fmt: str,
    table: str,
    is_header,
    workdir: Path | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> Source:
    """Stage any supported file as text columns."""
    if fmt == "excel":
        return stage_excel(con, path, table, is_header)
    if fmt == "parquet":
        return stage_parquet(con, path, table)
    with tempfile.TemporaryDirectory() as scratch:
        folder = workdir or Path(scratch)
        source = stage_csv(con, path, table, is_header, folder, encoding, delimiter)
    source.format = fmt
    return source

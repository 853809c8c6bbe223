"""Ledger import: a file of items, customers or contacts into the workspace.

The file is staged as text, each mapped column is parsed with the one convention
detected over the whole column, every row that cannot be used becomes a problem
(line, column, value, message), and what is valid is written in one transaction.
A preview runs the same steps and rolls back.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import datetime as dt
import json
import logging
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
from babel import numbers as babel_numbers

from dunning import clock, columns, customers, lettering, parsing, sources, store
from dunning.errors import (
    AlreadyImported,
    AmbiguousDateOrder,
    DunningError,
    ImportRefused,
    InvalidValue,
)

log = logging.getLogger(__name__)

MODES = ("replace", "append")

# Values of a document-type column, normalised (lower case, no accents).
DOC_TYPES = {
    "invoice": [
        "facture",
        "fa",
        "fac",
        "fact",
        "invoice",
        "inv",
        "bill",
        "debit",
        "facture client",
        "note de debit",
    ],
    "credit_note": [
        "avoir",
        "av",
        "credit note",
        "credit",
        "cn",
        "credit memo",
        "note de credit",
        "avoir client",
        "refund",
    ],
    "payment": [
        "reglement",
        "rg",
        "paiement",
        "payment",
        "pmt",
        "virement",
        "encaissement",
        "cheque",
        "receipt",
        "acompte",
        "prelevement",
    ],
    "adjustment": [
        "od",
        "adjustment",
        "ajustement",
        "regularisation",
        "ecart",
        "write off",
        "operation diverse",
    ],
}

# Values of a status column and the qualification they mean. "skip" rows are
# documents that were cancelled and are never items.
STATUSES = {
    "disputed": ["litige", "en litige", "conteste", "disputed", "dispute", "contested"],
    "promised": ["promesse", "promesse de paiement", "promised", "promise to pay"],
    "litigation": ["contentieux", "litigation", "legal", "procedure", "huissier"],
    "ignored": ["ignore", "ignored", "ne pas relancer", "do not chase"],
    "skip": [
        "annule",
        "annulee",
        "annule e",
        "cancelled",
        "canceled",
        "void",
        "voided",
        "supprime",
        "supprimee",
        "deleted",
    ],
}
YES = list(parsing.YES)

CONTACT_ROLES = {
    "dunning": ["relance", "recouvrement", "dunning", "collections", "credit"],
    "billing": [
        "facturation",
        "comptabilite",
        "compta",
        "billing",
        "invoicing",
        "accounts payable",
        "accounting",
    ],
    "management": ["direction", "dirigeant", "gerant", "management", "ceo", "manager"],
}

_EMAIL = re.compile(r"[A-Za-z0-9.!#$&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
_TOTAL = re.compile(r"(?i)^(sous[ -]?)?(total|totaux|subtotal|grand total)\b")

CURRENCIES = set(babel_numbers.list_currencies())
CURRENCY_SYMBOLS = {"€": "EUR", "$": "USD", "US$": "USD", "£": "GBP", "CHF": "CHF"}

PREVIEW_ROWS = 20
STAGING = "staging_source"
IMPORT_MEMORY_LIMIT = "600MB"


@dataclass
class Options:
    """How to import a file; every field has the value a newcomer would want."""

    kind: str = "auto"
    fmt: str = "auto"
    mapping: dict[str, str] | str | None = None
    date_order: str | None = None
    payment_terms_days: int | None = None
    mode: str = "replace"
    as_of: dt.date | None = None
    force: bool = False
    file_name: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    load_valid_rows: bool = True
    save_mapping_as: str | None = None
    keep_demo: bool = False
    progress: Callable[[float, str], None] | None = None


@dataclass
class Problem:
    """A row or value the import could not use as it is."""

    line: int | None
    column: str | None
    value: str | None
    message: str
    severity: str = "error"

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "column": self.column,
            "value": self.value,
            "message": self.message,
        }


@dataclass
class Report:
    """What an import read, detected, loaded and refused."""

    file_name: str
    format: str
    kind: str
    mode: str
    columns: list[str]
    mapping: dict[str, str]
    detected: dict[str, Any]
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    problems: list[Problem] = field(default_factory=list)
    preview: list[dict[str, Any]] = field(default_factory=list)
    import_id: int | None = None
    committed: bool = False
    customers_created: int = 0
    items_closed: int = 0
    already_imported: str | None = None
    demo_cleared: bool = False

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [p.as_dict() for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[dict[str, Any]]:
        return [p.as_dict() for p in self.problems if p.severity == "warning"]

    def as_json(self) -> dict[str, Any]:
        """The command line's JSON form (DESIGN 13)."""
        return {
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_rejected": self.rows_rejected,
            "errors": self.errors,
            "warnings": self.warnings,
            "import_id": self.import_id,
            "kind": self.kind,
            "format": self.format,
            "mapping": self.mapping,
            "detected": self.detected,
        }


# ---------------------------------------------------------------------------
# Entry points


def import_file(
    con: duckdb.DuckDBPyConnection, path: str | Path, options: Options | None = None
) -> Report:
    """Import a file and store what is valid, in one transaction."""
    return run(con, Path(path), options or Options(), commit=True)


def file_columns(
    con: duckdb.DuckDBPyConnection, path: str | Path, options: Options | None = None
) -> list[str]:
    """The file's column names as a person reads them, for mapping by hand."""
    options = options or Options()
    path = Path(path)
    _check_readable(path)
    source = _stage(con, path, sources.detect_format(path, options.fmt), options)
    con.execute(f"DROP TABLE IF EXISTS {STAGING}")
    return source.columns


def preview_file(
    con: duckdb.DuckDBPyConnection, path: str | Path, options: Options | None = None
) -> Report:
    """Run the whole import and roll it back: detected settings, problems, preview."""
    return run(con, Path(path), options or Options(), commit=False)


def run(
    con: duckdb.DuckDBPyConnection, path: Path, options: Options, commit: bool
) -> Report:
    """Stage, parse, check and (when `commit`) store one file."""
    _check_options(options)
    _check_readable(path)
    _step(options, 0.02, "Reading the file")

    # The file's hash and line count take a pass over its bytes, which runs beside
    # the reading (hashlib and DuckDB release the GIL).
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        scan = pool.submit(sources.scan_bytes, path)
        with _import_settings(con):
            return _run_bounded(con, path, options, scan, commit)


@contextlib.contextmanager
def _import_settings(con):
    """DuckDB settings for the time of an import; the staging tables freed after.

    A bounded memory budget lets DuckDB spill the staging tables of a large file to
    disk instead of growing the process past what a laptop can spare. Rows must
    keep the file's order, which numbers the lines of a typed read.
    """
    settings = {
        "memory_limit": f"'{IMPORT_MEMORY_LIMIT}'",
        "preserve_insertion_order": "true",
    }
    previous = {
        name: con.execute(f"SELECT current_setting('{name}')").fetchone()[0]
        for name in settings
    }
    for name, value in settings.items():
        con.execute(f"SET {name} = {value}")
    try:
        yield
    finally:
        for name, value in previous.items():
            con.execute(f"SET {name} = '{value}'")
        _drop_staging(con)


def _run_bounded(con, path, options, scan, commit) -> Report:
    """The import proper: reading, then everything else in one transaction."""
    started = dt.datetime.now()
    file_name = options.file_name or path.name
    read, digest = _read_unless_imported(con, path, options, scan, commit)

    _step(options, 0.3, "Checking every row")
    con.execute("BEGIN TRANSACTION")
    try:
        demo_cleared = _leave_demo(con, options)
        report = _run_in_transaction(con, read, options, file_name)
        if not commit:
            report.already_imported = _earlier_import(con, digest, file_name)
        if demo_cleared:
            report.demo_cleared = True
            report.problems.insert(
                0,
                Problem(
                    None,
                    None,
                    None,
                    "the demo data is cleared: from this import on, the workspace "
                    "holds your data only",
                    "warning",
                ),
            )
        _step(options, 0.9, "Storing")
        if commit and _should_store(report, options):
            _record_import(con, report, digest, started)
            if options.save_mapping_as:
                columns.save(con, options.save_mapping_as, report.kind, report.mapping)
            con.execute("COMMIT")
            report.committed = True
        else:
            con.execute("ROLLBACK")
    except duckdb.Error as error:
        con.execute("ROLLBACK")
        raise ImportRefused(
            f"{file_name} could not be imported: {str(error).splitlines()[0]}. "
            "Nothing was changed in the workspace."
        ) from error
    except BaseException:
        con.execute("ROLLBACK")
        raise
    if report.committed:
        log.info(
            "import %s: %s loaded, %s rejected",
            report.import_id,
            report.rows_loaded,
            report.rows_rejected,
        )
    return report


def _read_unless_imported(con, path, options, scan, commit):
    """The file read, and its hash; a file imported before is refused.

    Reading only creates temporary tables: it runs before the transaction so a
    reader retry (DuckDB aborts a transaction on any failed statement) is possible.
    The hash is ready only after the reading began, yet the refusal of a file
    imported before comes first, whatever else is wrong with the file.
    """
    refusal = None
    try:
        read = _read(con, path, options, scan)
    except DunningError as error:
        refusal = error
    digest = scan.result()[0]
    earlier = _earlier_import(con, digest, options.file_name or path.name)
    if commit and earlier and not options.force:
        raise AlreadyImported(earlier)
    if refusal is not None:
        raise refusal
    return read, digest


def _leave_demo(con, options: Options) -> bool:
    """The first import of the user's own file into the demo workspace clears the
    demo data, so demo customers never mix with real ones."""
    if options.keep_demo or not store.get_setting(con, "workspace.demo"):
        return False
    store.clear_data(con)
    return True


def _should_store(report: Report, options: Options) -> bool:
    return report.rows_rejected == 0 or options.load_valid_rows


def _check_options(options: Options) -> None:
    if options.mode not in MODES:
        raise ImportRefused(f"Unknown mode {options.mode!r}: use replace or append.")
    if options.kind not in ("auto", *columns.KINDS):
        raise ImportRefused(
            f"Unknown kind {options.kind!r}: use auto, items, customers or contacts."
        )
    if options.date_order not in (None, *parsing.DATE_ORDERS):
        raise ImportRefused(
            f"Unknown date order {options.date_order!r}: use dmy, mdy or ymd."
        )
    terms = options.payment_terms_days
    if terms is not None and not 0 <= int(terms) <= 365:
        raise ImportRefused(
            f"Payment terms of {terms} days are out of range: give 0 to 365 days."
        )


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise ImportRefused(f"{path} does not exist. Check the file name and folder.")
    if path.is_dir():
        raise ImportRefused(f"{path} is a folder; give the ledger file inside it.")
    if path.stat().st_size == 0:
        raise ImportRefused(f"{path.name} is empty (0 bytes): export the ledger again.")


def _earlier_import(con, digest: str, file_name: str) -> str | None:
    """A sentence about the earlier import of the same bytes, if there was one."""
    row = con.execute(
        "SELECT import_id, file_name, finished_at FROM imports WHERE file_hash = ? "
        "ORDER BY import_id DESC LIMIT 1",
        [digest],
    ).fetchone()
    if row is None:
        return None
    import_id, earlier_name, finished = row
    return (
        f"{file_name} has the same content as {earlier_name}, already imported on "
        f"{finished:%Y-%m-%d %H:%M} (import #{import_id}). Import it again only "
        "on purpose: tick 'import again' or pass --force."
    )


def _step(options: Options, fraction: float, what: str) -> None:
    """Tell the caller how far the import is (a progress bar, a log)."""
    if options.progress is not None:
        options.progress(fraction, what)


# ---------------------------------------------------------------------------
# Reading the file


@dataclass
class _Read:
    """A file read for import: its source, kind and mapping, and for items how
    each field was read (`staging_items` then holds the typed rows)."""

    source: sources.Source
    kind: str
    mapping: dict[str, str]
    plan: _ItemsPlan | None = None


def _read(con, path: Path, options: Options, scan) -> _Read:
    """Stage the file, resolve its mapping and, for items, read the typed rows."""
    fmt = sources.detect_format(path, options.fmt)
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch)
        if fmt in ("csv", "fec"):
            with _reading(path, options):
                source = _sniff(con, path, fmt, options, workdir)
        else:
            source = _stage(con, path, fmt, options)
        kind, mapping = _resolve_mapping(con, source, options)
        read = _Read(source, kind, mapping)

        def line_count() -> int | None:
            # The pass over the bytes counted the lines of the file DuckDB reads.
            same_file = source.text_path == path
            return scan.result()[1] if same_file else None

        if kind == "items" and fmt == "csv":
            with _building(path, options):
                read.plan = _typed_items(con, source, mapping, options, line_count)
        if not source.table and read.plan is None:
            with _reading(path, options):
                sources.stage_text(con, source, STAGING, line_count())
        if kind == "items" and read.plan is None:
            with _building(path, options):
                read.plan = _text_items(con, source, mapping, options)
    return read


def _sniff(con, path, fmt, options, workdir) -> sources.Source:
    con.execute(f"DROP TABLE IF EXISTS {STAGING}")
    source = sources.sniff_csv(
        path,
        columns.looks_like_header,
        workdir,
        encoding=options.encoding,
        delimiter=options.delimiter,
    )
    source.format = fmt
    return source


def _stage(con, path: Path, fmt: str, options: Options) -> sources.Source:
    con.execute(f"DROP TABLE IF EXISTS {STAGING}")
    with _reading(path, options):
        return sources.stage(
            con,
            path,
            fmt,
            STAGING,
            columns.looks_like_header,
            encoding=options.encoding,
            delimiter=options.delimiter,
        )


@contextlib.contextmanager
def _reading(path: Path, options: Options):
    """Turn what goes wrong while reading a file into a refusal a user can act on."""
    try:
        yield
    except duckdb.Error as error:
        raise ImportRefused(
            f"{path.name} could not be read: {str(error).splitlines()[0]}. "
            "Nothing was changed in the workspace."
        ) from error
    except LookupError as error:
        raise ImportRefused(
            f"Unknown encoding {options.encoding!r}: use utf-8, cp1252 or "
            "iso-8859-15, or leave it out to detect it."
        ) from error
    except UnicodeDecodeError as error:
        if options.encoding is None:
            raise ImportRefused(
                f"{path.name} is not a text file: byte "
                f"{error.object[error.start]:#04x} at offset {error.start} belongs "
                "to no text encoding. Export the ledger as CSV, Excel .xlsx or FEC."
            ) from error
        raise ImportRefused(
            f"{path.name} is not in the {error.encoding} encoding (byte "
            f"{error.object[error.start]:#04x} at offset {error.start}); give the "
            "right encoding (--encoding cp1252, utf-8, iso-8859-15)."
        ) from error
    except UnicodeError as error:
        raise ImportRefused(
            f"{path.name} cannot be read as {options.encoding}: {error}. Leave the "
            "encoding out to detect it."
        ) from error


@contextlib.contextmanager
def _building(path: Path, options: Options):
    """Turn a failure while typing the rows into a refusal (nothing is stored yet)."""
    try:
        yield
    except duckdb.Error as error:
        raise ImportRefused(
            f"{options.file_name or path.name} could not be imported: "
            f"{str(error).splitlines()[0]}. Nothing was changed in the workspace."
        ) from error


def _drop_staging(con) -> None:
    """Free the memory of the large staging tables once an import is over."""
    for table in (STAGING, "staging_typed", "staging_values", "staging_incoming_rows"):
        con.execute(f"DROP TABLE IF EXISTS {table}")


def _run_in_transaction(con, read: _Read, options, file_name) -> Report:
    source, kind, mapping = read.source, read.kind, read.mapping
    report = Report(
        file_name=file_name,
        format=source.format,
        kind=kind,
        mode=options.mode,
        columns=source.columns,
        mapping=mapping,
        detected={
            "encoding": source.encoding,
            "delimiter": source.delimiter,
            "header_line": source.header_line,
        },
        rows_read=source.rows + len(source.malformed),
    )
    for bad in source.malformed:
        report.problems.append(
            Problem(
                bad["line"],
                None,
                None,
                "the line does not split into the header's columns "
                f"({bad['message'].splitlines()[0]}); check its quotes and separators",
            )
        )
    if source.format != "fec":  # the FEC's own columns are read by position
        report.problems.extend(_unused_columns(source.columns, mapping, kind))
    if kind == "items":
        _import_items(con, report, options, read.plan)
    elif kind == "customers":
        _import_customers(con, source, report, options)
    else:
        _import_contacts(con, source, report, options)
    report.rows_rejected = len(
        {p.line for p in report.problems if p.severity == "error"}
    )
    return report


def _unused_columns(names: list[str], mapping: dict[str, str], kind: str):
    """A warning for each column of the file that fills no field, and why."""
    used = set(mapping.values())
    problems = []
    for name in names:
        if name in used:
            continue
        field_name = columns.field_for(name)
        label = columns.FIELD_LABELS.get(field_name or "", field_name)
        if field_name is None:
            why = "its name is not one the import knows"
        elif field_name not in columns.KIND_FIELDS[kind]:
            why = f"it reads as {label}, which a {kind} file does not carry"
        elif field_name in mapping:
            why = f"{label} is already read from column {mapping[field_name]!r}"
        else:
            why = f"the mapping does not use it (it reads as {label})"
        problems.append(
            Problem(
                None,
                name,
                None,
                f"column not used: {why}; its values are not imported. Map it to a "
                "field if they matter.",
                "warning",
            )
        )
    return problems


def _resolve_mapping(con, source: sources.Source, options: Options):
    """The kind of file and the field -> column mapping to use."""
    if source.format == "fec":
        return "items", {name: name for name in source.columns}
    given = options.mapping
    kind = options.kind
    if isinstance(given, str):
        saved_kind, given = _named_mapping(con, given)
        kind = saved_kind if kind == "auto" else kind
    if given:
        mapping = dict(given)
        kind = columns.detect_kind(mapping) if kind == "auto" else kind
    else:
        guess = columns.auto_mapping(source.columns)
        kind = columns.detect_kind(guess) if kind == "auto" else kind
        mapping = columns.auto_mapping(source.columns, kind)
    mapping = {f: c for f, c in mapping.items() if c}
    columns.check_mapping(mapping, source.columns, kind)
    return kind, mapping


def _named_mapping(con, name: str) -> tuple[str, dict[str, str]]:
    path = Path(name)
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ImportRefused(
                f"The mapping file {path} cannot be read as JSON ({error})."
            ) from error
        if not isinstance(data, dict):
            raise ImportRefused(
                f"The mapping file {path} must hold an object of field: column."
            )
        fields = data.get("mapping", data)
        return data.get("kind", "auto"), {str(k): str(v) for k, v in fields.items()}
    return columns.load(con, name)


# ---------------------------------------------------------------------------
# Items: reading the rows
#
# The item rows of a ledger end up in the view `staging_items` over the table
# `staging_typed`, one typed row per line of the file. A delimited file whose
# amounts and dates all have shapes DuckDB's reader types exactly is read straight
# into it with those types (DESIGN 5); any other file is staged as text first and
# converted in SQL. Either way the conventions come from one scan of the values.

_NUMBER_FIELDS = ("amount", "open_amount")
_DATE_FIELDS = ("issue_date", "due_date", "paid_date")
_LOOKUP_FIELDS = ("doc_type", "status", "disputed", "currency")
_TEXT_FIELDS = (
    "customer_number",
    "customer_name",
    "doc_number",
    "reference",
    "letter",
    "segment",
    "account_manager",
    "country",
    "language",
    "email",
    "contact_name",
    "phone",
)
# The cleaned text of an amount or a date, kept when it is converted in SQL.
_RAW = {
    "amount": "amount_raw",
    "open_amount": "open_raw",
    "issue_date": "issue_raw",
    "due_date": "due_raw",
    "paid_date": "paid_raw",
}
# Free-text values matched to canonical ones, per field.
_SYNONYMS = {"doc_type": DOC_TYPES, "status": STATUSES, "disputed": {"yes": YES}}
# The canonical value of a matched field, kept as its rank in _SYNONYMS (1, 2 ...):
# comparing numbers row by row costs far less than writing strings.
_CODES = {"doc_type": "kind_code", "status": "status_code", "disputed": "disputed_code"}
# Up to this many distinct currency values are matched one by one.
_MAX_CURRENCIES = 200
# Distinct values of a free-text column looked up in the synonyms, at most.
_MAX_SYNONYM_VALUES = 10000

# The columns of `staging_items` and their types, NULL when the file lacks them.
_ITEM_COLUMNS = {
    **dict.fromkeys(_TEXT_FIELDS, "VARCHAR"),
    **dict.fromkeys(_NUMBER_FIELDS, "DECIMAL(18,2)"),
    **dict.fromkeys(_DATE_FIELDS, "DATE"),
    **dict.fromkeys(_RAW.values(), "VARCHAR"),
    "entry_date": "DATE",
    "sign_fix": "INTEGER",
    "doc_type": "VARCHAR",
    "status": "VARCHAR",
    "cancelled": "BOOLEAN",
}


@dataclass
class _ItemsPlan:
    """How each mapped field of a ledger is read, decided from all of its values."""

    numbers: dict[str, parsing.NumberConvention] = field(default_factory=dict)
    orders: dict[str, str | None] = field(default_factory=dict)
    serials: bool = False
    detected: dict[str, Any] = field(default_factory=dict)
    notes: list[Problem] = field(default_factory=list)
    # Raw value -> canonical value, per field of _LOOKUP_FIELDS (currency: None
    # when it has too many distinct values to match one by one).
    lookups: dict[str, list[tuple[str, str]] | None] = field(default_factory=dict)
    # Field -> the DuckDB type its column is read with (typed read only).
    typed: dict[str, str] = field(default_factory=dict)
    reader_options: dict[str, str] = field(default_factory=dict)
    # Columns of `staging_items` with one value for every row (SQL literals),
    # given by the view instead of being stored a million times.
    constants: dict[str, str] = field(default_factory=dict)


def _typed_items(con, source, mapping, options, line_count) -> _ItemsPlan | None:
    """Read the item rows of a delimited file with the types detection found.

    One scan reads the mapped columns as text and collects their distinct values
    (amounts: shapes); the conventions follow, then DuckDB's reader reads the file
    again with those types, the fastest read it has. The row's line is its record
    number, so a file whose records do not map one to one to its lines (quoted
    newlines, blank or malformed lines) is left to the text staging (None).
    Without stored rejects, a line the reader cannot split fails a read.
    """
    # 1. The scan, and whether records and lines correspond.
    text = {f"c{i}": "VARCHAR" for i in range(len(source.columns))}
    relation, params = _csv_relation(source, text)
    try:
        rows, overflow = _scan_values(
            con, relation, params, _scan_keys(source, mapping), overflow=True
        )
    except duckdb.Error:
        return None
    lines = line_count()
    if lines is None:
        lines = sources.line_count(source.text_path)
    # A field past the header's, even blank, is for the text staging to judge.
    if overflow or lines - source.header_line != rows:
        return None

    # 2. Conventions, and the columns the reader can type.
    plan = _plan_items(con, source, mapping, options)
    _choose_reader_types(con, mapping, plan)
    for name, duck_type in plan.typed.items():
        text[source.column_id(mapping[name])] = duck_type

    # 3. The typed read; its row ids number the lines.
    relation, params = _csv_relation(source, text, **plan.reader_options)
    try:
        _create_typed(con, relation, params, source, mapping, plan, line=None)
        typed_rows = con.execute("SELECT count(*) FROM staging_typed").fetchone()[0]
    except duckdb.Error:
        return None
    if typed_rows != rows:
        return None
    source.rows, source.malformed = rows, []
    line = f"rowid + {source.header_line + 1}"
    _create_items_view(con, line, _payment_terms(con, options), plan.constants)
    return plan


def _csv_relation(source, types, **extra) -> tuple[str, dict[str, Any]]:
    """`read_csv(...)` of a sniffed file with these column types, and its parameters."""
    options = sources.csv_options(source, types, rejects=False, **extra)
    return sources.read_csv_sql(options), {"path": str(source.text_path), **options}


def _text_items(con, source, mapping, options) -> _ItemsPlan:
    """Convert the item rows of a file staged as text (`staging_source`)."""
    if source.format == "fec":
        return _fec_items(con, source, _payment_terms(con, options))
    keys = _scan_keys(source, mapping)
    _scan_values(con, source.table, {}, keys, overflow=False)
    plan = _plan_items(con, source, mapping, options)
    _create_typed(con, source.table, {}, source, mapping, plan, line="line")
    _create_items_view(con, "line", _payment_terms(con, options), plan.constants)
    con.execute(f"DROP TABLE IF EXISTS {STAGING}")
    return plan


def _scan_keys(source, mapping) -> dict[str, str]:
    """What the scan collects per mapped field: amount shapes, other raw values."""
    keys = {}
    for name in (*_NUMBER_FIELDS, *_DATE_FIELDS, *_LOOKUP_FIELDS):
        if name in mapping:
            column = source.column_id(mapping[name])
            number = name in _NUMBER_FIELDS
            keys[name] = parsing.number_shape_sql(column) if number else column
    return keys


def _scan_values(con, relation, params, keys, overflow: bool) -> tuple[int, int]:
    """One pass over the rows into `staging_values` (field, value, n).

    Per scanned field, its distinct values (amounts: shapes) and how many cells
    hold each; the row of field NULL counts all rows and, with `overflow`, the
    lines with a field past the header's. Returns those two counts.
    """
    names = list(keys)
    inner = [f"{expr} AS k{i}" for i, expr in enumerate(keys.values())]
    inner.append(f"{sources.OVERFLOW if overflow else 'NULL'} AS overflow")
    label = "NULL::VARCHAR"
    value = "NULL::VARCHAR"
    if names:
        whens = " ".join(
            f"WHEN GROUPING(k{i}) = 0 THEN '{name}'" for i, name in enumerate(names)
        )
        label = f"CASE {whens} END"
        value = f"coalesce({', '.join(f'k{i}' for i in range(len(names)))})"
    sets = "".join(f"(k{i}), " for i in range(len(names))) + "()"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE staging_values AS
        SELECT {label} AS field, {value} AS value, count(*) AS n,
               count(overflow) AS overflow
        FROM (SELECT {", ".join(inner)} FROM {relation})
        GROUP BY GROUPING SETS ({sets})
        """,
        params,
    )
    return con.execute(
        "SELECT n, overflow FROM staging_values WHERE field IS NULL"
    ).fetchone()


def _values(name: str) -> str:
    return f"(SELECT value, n FROM staging_values WHERE field = '{name}')"


def _plan_items(con, source, mapping, options) -> _ItemsPlan:
    """The conventions of the mapped fields, from the scan in `staging_values`."""
    plan = _ItemsPlan(serials=source.format == "excel")
    for name in _NUMBER_FIELDS:
        if name not in mapping:
            continue
        found = parsing.detect_number_shapes(con, _values(name), "value", "n")
        plan.numbers[name] = found
        plan.detected[f"{name}_decimal_mark"] = found.decimal
        if found.note:
            plan.notes.append(
                Problem(None, mapping[name], None, f"{found.note}.", "warning")
            )
    dates = {
        name: parsing.detect_date(con, _values(name), "value", plan.serials)
        for name in _DATE_FIELDS
        if name in mapping
    }
    plan.orders = _date_orders(dates, mapping, options)
    for name, order in plan.orders.items():
        plan.detected[f"{name}_order"] = order
    plan.lookups = _lookups(con, mapping)
    return plan


def _date_orders(found, mapping, options) -> dict[str, str | None]:
    """The day/month order of each date column, asking when it cannot be decided."""
    settled = {c.order for c in found.values() if c.settled and c.order}
    ambiguous = [mapping[n] for n, c in found.items() if c.ambiguous]
    orders = {}
    for name, convention in found.items():
        order = convention.order
        if options.date_order:
            order = options.date_order if options.date_order != "ymd" else order
        elif not convention.settled and convention.ambiguous:
            if len(settled) != 1:
                raise AmbiguousDateOrder(
                    f"The dates in column(s) {', '.join(ambiguous)} can be read "
                    "day-first or month-first (e.g. 03/04/2025), and no value "
                    "decides it. Choose the date order: day/month/year or "
                    "month/day/year (on the command line: --date-order dmy or mdy).",
                    ambiguous,
                )
            order = next(iter(settled))
        orders[name] = order
    return orders


def _lookups(con, mapping) -> dict[str, list[tuple[str, str]] | None]:
    """Canonical document types, statuses, disputes and currencies by raw value.

    Free-text values ("Facture", "AVOIR", "Règlement") are matched once per
    distinct value, in Python, instead of once per row in SQL.
    """
    found: dict[str, list[tuple[str, str]] | None] = {}
    for name, synonyms in _SYNONYMS.items():
        if name not in mapping:
            continue
        lookup = _synonym_lookup(synonyms)
        rows = con.execute(
            f"SELECT value, {parsing.clean('value')} FROM {_values(name)} "
            f"WHERE value IS NOT NULL LIMIT {_MAX_SYNONYM_VALUES}"
        ).fetchall()
        found[name] = [
            (raw, lookup[columns.normalise(text)])
            for raw, text in rows
            if text is not None and columns.normalise(text) in lookup
        ]
    if "currency" in mapping:
        # An empty cell (value NULL) stands for the default currency.
        rows = con.execute(
            f"SELECT value, {_currency_sql(parsing.clean('value'))} "
            f"FROM {_values('currency')} LIMIT {_MAX_CURRENCIES + 1}",
            {"default_currency": _default_currency(con)},
        ).fetchall()
        found["currency"] = rows if len(rows) <= _MAX_CURRENCIES else None
    return found


def _synonym_lookup(synonyms: dict[str, list[str]]) -> dict[str, str]:
    return {
        name: canonical
        for canonical, names in synonyms.items()
        for name in [*names, canonical.replace("_", " ")]
    }


def _default_currency(con) -> str:
    return store.settings(con, "defaults.")["defaults.currency"]


def _currency_sql(raw: str) -> str:
    """The ISO code of a cleaned currency cell: symbols read, the default if empty."""
    return f"""CASE WHEN {raw} IS NULL THEN $default_currency
               WHEN {raw} IN ('€') THEN 'EUR'
               WHEN {raw} IN ('$', 'US$') THEN 'USD'
               WHEN {raw} IN ('£') THEN 'GBP'
               ELSE upper({raw}) END"""


def _choose_reader_types(con, mapping, plan: _ItemsPlan) -> None:
    """The amount and date columns DuckDB's reader can type, and its options.

    The reader takes one decimal mark and one date format for the whole file, so
    a column whose convention differs from the one chosen stays text, and so does
    a column mapped to two fields.
    """
    uses = list(mapping.values())
    single = {name for name, column in mapping.items() if uses.count(column) == 1}

    # Amounts: integers-only columns read with any mark; settled ones need theirs.
    mark = None
    for name, convention in plan.numbers.items():
        if name not in single or not convention.typed:
            continue
        if convention.settled and mark not in (None, convention.decimal):
            continue
        plan.typed[name] = "DECIMAL(18,2)"
        mark = convention.decimal if convention.settled else mark
    if plan.typed:
        plan.reader_options.update(decimal_separator=mark or ".", thousands=" ")

    # Dates: the format that suits the most columns (an empty one suits any).
    formats = {
        name: parsing.reader_date_formats(con, _values(name), "value", order)
        for name, order in plan.orders.items()
        if name in single and not plan.serials
    }
    suits = collections.Counter(fmt for found in formats.values() for fmt in found)
    if suits:
        best = max(suits, key=suits.get)
        plan.reader_options["dateformat"] = best
        for name, found in formats.items():
            if best in found:
                plan.typed[name] = "DATE"


def _literal(text: str | None) -> str:
    """A SQL string literal (DuckDB's strings take no backslash escapes)."""
    if text is None:
        return "NULL::VARCHAR"
    return "'" + text.replace("'", "''") + "'"


def _case_map(column: str, pairs, otherwise: str = "NULL") -> str:
    """SQL mapping the raw values of a column to their canonical values or codes."""
    if not pairs:
        return otherwise

    def sql(out) -> str:
        return str(out) if isinstance(out, int) else _literal(out)

    whens = " ".join(f"WHEN {_literal(raw)} THEN {sql(out)}" for raw, out in pairs)
    return f"CASE {column} {whens} ELSE {otherwise} END"


def _create_typed(con, relation, params, source, mapping, plan, line) -> None:
    """`staging_typed`: one row per record of `relation`, every field typed.

    A plain projection of the relation (no join), so that a table read from the
    file keeps the file's order and its row ids number the lines. Columns the
    reader typed come as they are; amounts read as text are converted here, dates
    read as text afterwards, once per distinct value.
    """
    fields = {"line": line} if line else {}
    fields.update(_field_sql(source, mapping, plan))
    converted = [
        f"{parsing.number_sql(_RAW[name], convention)} AS {name}"
        for name, convention in plan.numbers.items()
        if name not in plan.typed
    ]
    derived, constants = _derived_sql(set(fields) | set(plan.numbers))
    plan.constants.update(constants)
    inner = ", ".join(f"{sql} AS {name}" for name, sql in fields.items())
    middle = ", ".join(["*", *converted])
    outer = "".join(f", {sql} AS {name}" for name, sql in derived.items())
    currency = {"default_currency": _default_currency(con)}
    uses_currency = any("$default_currency" in sql for sql in fields.values())
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE staging_typed AS
        SELECT *{outer}
        FROM (SELECT {middle} FROM (SELECT {inner} FROM {relation}))
        """,
        {**params, **(currency if uses_currency else {})},
    )
    for name, order in plan.orders.items():
        if name not in plan.typed:
            _convert_dates(con, name, order, plan.serials)


def _derived_sql(present: set[str]) -> tuple[dict[str, str], dict[str, str]]:
    """The sign, document type and status of each row, from its typed fields.

    Returns the expressions per row, and apart those that are the same for every
    row of a file without document types or statuses.
    """

    def given(name: str) -> str:
        return name if name in present else "NULL"

    def code(field_name: str, canonical: str) -> int:
        return list(_SYNONYMS[field_name]).index(canonical) + 1

    value = f"coalesce({given('open_amount')}, {given('amount')})"
    kind, status_kind = given("kind_code"), given("status_code")
    credit = f"({code('doc_type', 'credit_note')}, {code('doc_type', 'payment')})"
    skip, yes = code("status", "skip"), code("disputed", "yes")
    derived = {
        "sign_fix": f"CASE WHEN {kind} IN {credit} AND {value} > 0 THEN -1 ELSE 1 END",
        "doc_type": f"coalesce({_code_name(kind, 'doc_type')}, "
        f"CASE WHEN {value} < 0 THEN 'credit_note' ELSE 'invoice' END)",
        "status": f"CASE WHEN {status_kind} = {skip} THEN NULL "
        f"WHEN {status_kind} IS NOT NULL THEN {_code_name(status_kind, 'status')} "
        f"WHEN {given('disputed_code')} = {yes} THEN 'disputed' ELSE 'open' END",
        "cancelled": f"{status_kind} = {skip}",
    }
    constants = {}
    if kind == "NULL":
        constants["sign_fix"] = "1"
    if status_kind == "NULL":
        constants["cancelled"] = "NULL::BOOLEAN"
        if given("disputed_code") == "NULL":
            constants["status"] = "'open'"
    per_row = {name: sql for name, sql in derived.items() if name not in constants}
    return per_row, constants


def _code_name(code: str, field_name: str) -> str:
    """SQL giving back the canonical value of a field's code (see `_CODES`)."""
    if code == "NULL":
        return "NULL"
    names = list(_SYNONYMS[field_name])
    whens = " ".join(f"WHEN {i} THEN '{name}'" for i, name in enumerate(names, 1))
    return f"CASE {code} {whens} END"


def _field_sql(source, mapping, plan) -> dict[str, str]:
    """Per column of `staging_typed`, the SQL reading it from the file's columns."""

    def column(name: str) -> str:
        return source.column_id(mapping[name])

    fields = {}
    for name in _TEXT_FIELDS:
        if name in mapping:
            fields[name] = parsing.clean(column(name))
    for name in (*_NUMBER_FIELDS, *_DATE_FIELDS):
        if name not in mapping:
            continue
        if name in plan.typed:
            fields[name] = column(name)
        else:
            fields[_RAW[name]] = parsing.clean(column(name))
            if name in _DATE_FIELDS:
                fields[name] = "NULL::DATE"
    for name, code in _CODES.items():
        if name in mapping:
            ranks = list(_SYNONYMS[name])
            pairs = [(raw, ranks.index(value) + 1) for raw, value in plan.lookups[name]]
            fields[code] = _case_map(column(name), pairs)
    if "status" in mapping:
        fields["status_text"] = column("status")
    if "currency" in mapping:
        _currency_fields(column("currency"), plan, fields)
    return fields


def _currency_fields(column: str, plan, fields: dict[str, str]) -> None:
    """The currency of each row, and its text when a row may need it in a message.

    Matched by distinct value; a column that names one currency throughout is a
    constant of the view. The text is kept only when some value is no ISO code.
    """
    pairs = plan.lookups["currency"]
    if pairs is not None and len({code for _, code in pairs}) == 1:
        plan.constants["currency"] = _literal(pairs[0][1])
    else:
        known = [(raw, code) for raw, code in pairs or [] if raw is not None]
        generic = _currency_sql(parsing.clean(column))
        fields["currency"] = _case_map(column, known, generic)
    if pairs is None or any(code not in CURRENCIES for _, code in pairs):
        fields["currency_text"] = column


def _create_items_view(con, line_sql: str, terms, constants) -> None:
    """`staging_items`: the typed rows with their line and every item column.

    Columns the file lacks are NULL; the text of a status or currency cell, needed
    only for the few rows a problem names, is cleaned when it is read.
    """
    have = {
        d[0] for d in con.execute("SELECT * FROM staging_typed LIMIT 0").description
    }
    select = [f"{line_sql} AS line"]
    for name, duck_type in _ITEM_COLUMNS.items():
        value = constants.get(name, f"NULL::{duck_type}")
        select.append(name if name in have else f"{value} AS {name}")
    for text, raw in (("status_text", "status_raw"), ("currency_text", "currency_raw")):
        value = parsing.clean(text) if text in have else "NULL::VARCHAR"
        select.append(f"{value} AS {raw}")
    default = constants.get("currency", _literal(_default_currency(con)))
    select.append("currency" if "currency" in have else f"{default} AS currency")
    derived_due = "NULL::DATE"
    if terms is not None:
        derived_due = (
            "CASE WHEN due_date IS NULL AND issue_date IS NOT NULL "
            f"THEN issue_date + {int(terms)} END"
        )
    select.append(f"{derived_due} AS derived_due")
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW staging_items AS "
        f"SELECT {', '.join(select)} FROM staging_typed"
    )


def _convert_dates(con, name: str, order: str | None, serials: bool) -> None:
    """Fill a date column read as text, converting each distinct value once."""
    con.execute(
        f"""
        UPDATE staging_typed SET {name} = d.day
        FROM (SELECT DISTINCT {parsing.clean("value")} AS raw,
                     {parsing.date_sql("value", order, serials)} AS day
              FROM {_values(name)}) AS d
        WHERE staging_typed.{_RAW[name]} = d.raw AND d.day IS NOT NULL
        """
    )


def _payment_terms(con, options: Options):
    terms = options.payment_terms_days
    if terms is None:
        terms = store.get_setting(con, "import.payment_terms_days")
    return terms


def _fec_select(source: sources.Source) -> str:
    """SQL selecting the customer lines of a FEC as item rows.

    Only 411 accounts with an auxiliary account are customer lines; the other legs
    of each entry (sales, VAT, bank) are ignored. Amounts are Debit - Credit, or the
    foreign amount with that sign when Montantdevise/Idevise are filled. Each cell
    is cleaned, then each amount parsed, once, in nested selects.
    """
    required = ["CompteNum", "CompAuxNum", "PieceRef", "PieceDate", "Debit", "Credit"]
    lookup = {c.lower(): c for c in source.columns}
    missing = [name for name in required if name.lower() not in lookup]
    if missing:
        raise ImportRefused(
            f"This FEC lacks the column(s) {', '.join(missing)}; a FEC has 18 "
            "columns from JournalCode to Idevise. Export it again from the accounts."
        )
    used = [
        *("CompteNum", "CompAuxNum", "CompAuxLib", "PieceRef", "PieceDate"),
        *("EcritureLib", "EcritureDate", "EcritureLet", "Debit", "Credit"),
        *("Montantdevise", "Idevise"),
    ]

    def cleaned(name: str) -> str:
        column = lookup.get(name.lower())
        text = parsing.clean(source.column_id(column)) if column else "NULL::VARCHAR"
        return f"{text} AS {name}"

    comma = parsing.NumberConvention(",", True)
    book = "(debit_amount - credit_amount)"
    amount = (
        "CASE WHEN Idevise IS NOT NULL AND foreign_amount IS NOT NULL "
        f"THEN abs(foreign_amount) * sign({book}) ELSE {book} END"
    )
    doc_type = (
        f"CASE WHEN {book} >= 0 THEN 'invoice' "
        "WHEN upper(PieceRef) LIKE 'AV%' "
        "OR lower(EcritureLib) LIKE '%avoir%' THEN 'credit_note' "
        "ELSE 'payment' END"
    )
    return f"""
        SELECT line,
          CompAuxNum AS customer_number,
          CompAuxLib AS customer_name,
          {doc_type} AS doc_type_raw,
          PieceRef AS doc_number,
          EcritureLib AS reference,
          {parsing.date_sql("PieceDate", None, cleaned=True)} AS issue_date,
          PieceDate AS issue_raw,
          NULL::DATE AS due_date, NULL::VARCHAR AS due_raw,
          {amount} AS amount, Debit AS amount_raw,
          NULL::DECIMAL(18,2) AS open_amount, NULL::VARCHAR AS open_raw,
          Idevise AS currency_raw,
          NULL::DATE AS paid_date, NULL::VARCHAR AS paid_raw,
          NULL::VARCHAR AS status_raw, NULL::VARCHAR AS disputed_raw,
          EcritureLet AS letter,
          {parsing.date_sql("EcritureDate", None, cleaned=True)} AS entry_date,
          NULL::VARCHAR AS segment, NULL::VARCHAR AS account_manager,
          NULL::VARCHAR AS country, NULL::VARCHAR AS language,
          NULL::VARCHAR AS email, NULL::VARCHAR AS contact_name,
          NULL::VARCHAR AS phone
        FROM (
          SELECT *,
            coalesce({parsing.number_sql("Debit", comma)}, 0) AS debit_amount,
            coalesce({parsing.number_sql("Credit", comma)}, 0) AS credit_amount,
            {parsing.number_sql("Montantdevise", comma)} AS foreign_amount
          FROM (SELECT line, {", ".join(cleaned(name) for name in used)}
                FROM {source.table})
          WHERE CompteNum LIKE '411%' AND CompAuxNum IS NOT NULL)
    """


def _fec_items(con, source, terms) -> _ItemsPlan:
    """The customer lines of a FEC as item rows, typed in one pass over the text.

    A FEC has no status or dispute column; its document types are the canonical
    ones its select computes from the sign and the piece reference.
    """
    _synonyms(con, "staging_kinds", list(DOC_TYPES), DOC_TYPES)
    value = "coalesce(open_amount, amount)"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE staging_typed AS
        SELECT *,
          CASE WHEN kind_given IN ('credit_note', 'payment') AND {value} > 0
               THEN -1 ELSE 1 END AS sign_fix,
          coalesce(kind_given, CASE WHEN {value} < 0 THEN 'credit_note'
                                    ELSE 'invoice' END) AS doc_type,
          CASE WHEN currency_raw IS NULL THEN $default_currency
               WHEN currency_raw IN ('€') THEN 'EUR'
               WHEN currency_raw IN ('$', 'US$') THEN 'USD'
               WHEN currency_raw IN ('£') THEN 'GBP'
               ELSE upper(currency_raw) END AS currency,
          'open' AS status,
          NULL::BOOLEAN AS cancelled,
          CASE WHEN due_date IS NULL AND issue_date IS NOT NULL
                    AND $terms IS NOT NULL
               THEN issue_date + CAST($terms AS INTEGER) END AS derived_due
        FROM (
          SELECT t.*, k.canonical AS kind_given, NULL::VARCHAR AS status_kind,
                 NULL::VARCHAR AS disputed_kind
          FROM ({_fec_select(source)}) t
          LEFT JOIN staging_kinds k ON k.raw = t.doc_type_raw)
        """,
        {"default_currency": _default_currency(con), "terms": terms},
    )
    con.execute(
        "CREATE OR REPLACE TEMP VIEW staging_items AS SELECT * FROM staging_typed"
    )
    con.execute(f"DROP TABLE IF EXISTS {STAGING}")
    return _ItemsPlan(detected={"decimal_mark": ",", "date_format": "yyyymmdd"})


def _synonyms(
    con, table: str, values: list[str | None], synonyms: dict[str, list[str]]
) -> None:
    """A small table (raw, canonical) for the distinct values of a column."""
    lookup = _synonym_lookup(synonyms)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} (raw VARCHAR, canonical VARCHAR)"
    )
    rows = [
        [value, lookup[columns.normalise(value)]]
        for value in values
        if value is not None and columns.normalise(value) in lookup
    ]
    if rows:
        con.executemany(f"INSERT INTO {table} VALUES (?, ?)", rows)


# ---------------------------------------------------------------------------
# Items: checking and storing


def _import_items(con, report: Report, options: Options, plan: _ItemsPlan) -> None:
    mapping = report.mapping
    settings = store.settings(con, "defaults.")
    terms = _payment_terms(con, options)

    # 1. The conventions found while reading (see `_plan_items`).
    report.detected.update(plan.detected)
    report.problems.extend(plan.notes)

    # 2. Problems: rejected rows (errors) and rows loaded with a remark (warnings).
    currencies = [
        row[0]
        for row in con.execute("SELECT DISTINCT currency FROM staging_items").fetchall()
    ]
    _collect_item_problems(con, report, mapping, currencies)

    # 3. Rows to load, lettering groups settled, then the workspace updated.
    rejected = {p.line for p in report.problems if p.severity == "error"}
    con.execute("CREATE OR REPLACE TEMP TABLE staging_rejected (line BIGINT)")
    if rejected:
        con.executemany(
            "INSERT INTO staging_rejected VALUES (?)", [[line] for line in rejected]
        )
    _build_incoming(con, report.format == "fec", bool(rejected))
    _settle_lettering(con)
    _due_date_warnings(con, report, terms)
    report.preview = _preview(con, "staging_incoming")
    _write_items(con, report, options, settings, single_currency=len(currencies) <= 1)


def _collect_item_problems(con, report: Report, mapping, currencies) -> None:
    """Every reason a row is refused or loaded with a remark, with its line.

    A cell converted by DuckDB's reader keeps no text (its `_raw` column is NULL),
    so the conditions test the typed value too where the text was tested alone.
    """
    label = {f: mapping.get(f, f) for f in columns.ALIASES}
    is_total = (
        "(doc_number IS NULL AND (regexp_matches(coalesce(customer_number, ''), $total)"
        " OR regexp_matches(coalesce(customer_name, ''), $total)"
        " OR customer_number IS NULL))"
    )
    checks = [
        (
            "error",
            f"customer_number IS NULL AND NOT {is_total}",
            "customer_number",
            "NULL",
            "'no customer number: fill the customer column for this row'",
        ),
        (
            "error",
            f"doc_number IS NULL AND NOT {is_total}",
            "doc_number",
            "NULL",
            "'no document number: every item needs its invoice or credit note number'",
        ),
        (
            "error",
            "amount_raw IS NOT NULL AND amount IS NULL",
            "amount",
            "amount_raw",
            "'''' || amount_raw || ''' is not an amount: write it like 1234.56 or "
            "1 234,56 (the column''s decimal mark), at most two decimals'",
        ),
        (
            "error",
            "open_raw IS NOT NULL AND open_amount IS NULL",
            "open_amount",
            "open_raw",
            "'''' || open_raw || ''' is not an amount: write it like 1234.56 or "
            "1 234,56 (the column''s decimal mark), at most two decimals'",
        ),
        (
            "error",
            "amount_raw IS NULL AND open_raw IS NULL AND amount IS NULL "
            f"AND open_amount IS NULL AND NOT {is_total}",
            "amount",
            "NULL",
            "'no amount: the row has neither an amount nor an open amount'",
        ),
        (
            "error",
            "list_contains($unknown, currency)",
            "currency",
            "currency_raw",
            "'unknown currency code ''' || currency_raw || ''': use an ISO code "
            "such as EUR, USD or GBP'",
        ),
    ]
    # Codes are checked once per distinct currency; rows only for unknown ones.
    unknown = sorted(c for c in currencies if c is not None and c not in CURRENCIES)
    report_rows = []
    for severity, condition, field_name, value_sql, message_sql in checks:
        if (
            field_name not in mapping
            and field_name in ("amount", "open_amount")
            and "amount_raw IS NULL AND open_raw IS NULL" not in condition
        ):
            continue
        if "$unknown" in condition and not unknown:
            continue
        rows = con.execute(
            f"SELECT line, {value_sql}, {message_sql} FROM staging_items "
            f"WHERE {condition} ORDER BY line",
            _params_used(condition, total=_TOTAL.pattern, unknown=unknown),
        ).fetchall()
        for line, value, message in rows:
            report_rows.append(
                Problem(line, label.get(field_name), value, message, severity)
            )

    for line, doc_number, first_line in _duplicates(con):
        report_rows.append(
            Problem(
                line,
                label["doc_number"],
                doc_number,
                f"duplicate document {doc_number}: the same customer and document "
                f"type already appear on line {first_line}; remove one of the rows",
            )
        )

    # Remarks: rows skipped on purpose, dates that could not be used.
    total_rows = con.execute(
        f"SELECT line, coalesce(customer_number, customer_name) FROM staging_items "
        f"WHERE {is_total} ORDER BY line",
        {"total": _TOTAL.pattern},
    ).fetchall()
    for line, text in total_rows:
        report_rows.append(
            Problem(
                line,
                None,
                text,
                "total row ignored: it is a sum of the rows above, not an item",
                "warning",
            )
        )
    for line, doc_number, raw in con.execute(
        "SELECT line, doc_number, status_raw FROM staging_items WHERE cancelled "
        "ORDER BY line"
    ).fetchall():
        report_rows.append(
            Problem(
                line,
                label["status"],
                raw,
                f"{doc_number} is cancelled ({raw}) and is not loaded as an item",
                "warning",
            )
        )
    for line, raw, what in con.execute(
        """
        SELECT line, issue_raw, 'issue date' FROM staging_items
        WHERE issue_raw IS NOT NULL AND issue_date IS NULL
        UNION ALL
        SELECT line, paid_raw, 'paid date' FROM staging_items
        WHERE paid_raw IS NOT NULL AND paid_date IS NULL
        ORDER BY 1, 3
        """
    ).fetchall():
        field_name = "issue_date" if what == "issue date" else "paid_date"
        report_rows.append(
            Problem(
                line,
                label[field_name],
                raw,
                f"{what} '{raw}' is not a valid date; the item is loaded without it",
                "warning",
            )
        )
    if "issue_date" in mapping:
        for (line,) in con.execute(
            "SELECT line FROM staging_items WHERE issue_raw IS NULL "
            "AND issue_date IS NULL AND doc_number IS NOT NULL ORDER BY line"
        ).fetchall():
            report_rows.append(
                Problem(
                    line,
                    label["issue_date"],
                    None,
                    "no issue date; the item is loaded without it",
                    "warning",
                )
            )
    report.problems.extend(sorted(report_rows, key=lambda p: p.line or 0))


def _duplicates(con) -> list[tuple]:
    """Rows repeating the document of an earlier row for the same customer.

    Distinct hashes of (customer, type, number) as many as the rows prove there is
    no repeat without grouping a million keys; a collision only costs the exact
    query.
    """
    candidates = """
        SELECT line, customer_number, doc_type, doc_number FROM staging_items
        WHERE customer_number IS NOT NULL AND doc_number IS NOT NULL
          AND NOT coalesce(cancelled, false) AND letter IS NULL
    """
    rows, keys = con.execute(
        "SELECT count(*), count(DISTINCT hash(customer_number, doc_type, doc_number)) "
        f"FROM ({candidates})"
    ).fetchone()
    if rows == keys:
        return []
    return con.execute(
        f"""
        WITH candidates AS ({candidates}),
        repeated AS (
          SELECT customer_number, doc_type, doc_number, min(line) AS first_line
          FROM candidates GROUP BY ALL HAVING count(*) > 1)
        SELECT c.line, c.doc_number, r.first_line FROM candidates c
        JOIN repeated r USING (customer_number, doc_type, doc_number)
        WHERE c.line <> r.first_line ORDER BY c.line
        """
    ).fetchall()


def _due_date_warnings(con, report: Report, terms) -> None:
    """Owed items loaded without a usable due date, once lettering has settled."""
    label = report.mapping.get("due_date", "due_date")
    derived = "an unknown due date" if terms is None else f"issue date + {terms} days"
    # Most ledgers give every due date: a count settles it without the join.
    missing = "SELECT count(*) FROM staging_items WHERE due_date IS NULL"
    if not con.execute(missing).fetchone()[0]:
        return
    rows = con.execute(
        """
        SELECT s.line, s.doc_number, t.due_raw FROM staging_incoming s
        JOIN staging_items t USING (line)
        WHERE t.due_date IS NULL AND s.open_amount > 0
          AND s.doc_type IN ('invoice', 'adjustment')
        ORDER BY s.line
        """
    ).fetchall()
    for line, doc_number, raw in rows:
        what = "no due date" if raw is None else f"due date '{raw}' is not a valid date"
        if terms is None:
            message = (
                f"{doc_number}: {what}; loaded with an unknown due date. It is not "
                "dunned until it has one (enter it, or import with payment terms)."
            )
        else:
            message = f"{doc_number}: {what}; due date set to {derived}."
        report.problems.append(Problem(line, label, raw, message, "warning"))
    if terms is not None and rows:
        report.detected["due_dates_derived"] = len(rows)


def _params_used(sql: str, **params) -> dict[str, Any]:
    """The named parameters that a SQL text refers to (DuckDB refuses extra ones)."""
    return {name: value for name, value in params.items() if f"${name}" in sql}


def _build_incoming(con, is_fec: bool, any_rejected: bool) -> None:
    """The item rows to load: valid, not totals, not cancelled, signs fixed.

    A view over `staging_items`: each later step reads what it needs of it, and
    only a step that changes rows (lettering, append refusals) makes it a table.
    """
    con.execute("DROP TABLE IF EXISTS staging_incoming_rows")
    not_rejected = (
        "AND line NOT IN (SELECT line FROM staging_rejected)" if any_rejected else ""
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP VIEW staging_incoming AS
        SELECT line, customer_number, customer_name, doc_type, doc_number, reference,
               issue_date,
               coalesce(due_date, derived_due) AS due_date,
               CASE WHEN due_date IS NULL AND derived_due IS NULL THEN
                    coalesce(due_raw, 'missing') END AS due_date_problem,
               coalesce(amount, open_amount) * sign_fix AS amount,
               CASE WHEN paid_date IS NOT NULL AND coalesce(open_amount, 0) = 0
                    THEN coalesce(amount, open_amount)
                    ELSE coalesce(open_amount, amount) END * sign_fix AS open_amount,
               currency,
               CASE WHEN paid_date IS NOT NULL AND coalesce(open_amount, 0) = 0
                    THEN paid_date END AS paid_date,
               status, letter, coalesce(entry_date, issue_date) AS letter_date,
               segment, account_manager, country, language, email, contact_name, phone
        FROM staging_items
        WHERE customer_number IS NOT NULL AND doc_number IS NOT NULL
          AND NOT coalesce(cancelled, false)
          {not_rejected}
        """
    )
    if is_fec:
        # A FEC may post one document in several customer lines: one item each.
        con.execute(
            """
            CREATE TEMP TABLE staging_incoming_rows AS
            SELECT min(line) AS line, customer_number, any_value(customer_name)
                     AS customer_name, doc_type, doc_number, any_value(reference)
                     AS reference, min(issue_date) AS issue_date, min(due_date)
                     AS due_date, any_value(due_date_problem) AS due_date_problem,
                   sum(amount) AS amount, sum(open_amount) AS open_amount, currency,
                   NULL::DATE AS paid_date, 'open' AS status, letter,
                   max(letter_date) AS letter_date,
                   NULL::VARCHAR AS segment, NULL::VARCHAR AS account_manager,
                   NULL::VARCHAR AS country, NULL::VARCHAR AS language,
                   NULL::VARCHAR AS email, NULL::VARCHAR AS contact_name,
                   NULL::VARCHAR AS phone
            FROM staging_incoming
            GROUP BY customer_number, doc_type, doc_number, currency, letter
            """
        )
        con.execute(
            "CREATE OR REPLACE TEMP VIEW staging_incoming AS "
            "SELECT * FROM staging_incoming_rows"
        )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE staging_allocations "
        "(line BIGINT, paid_on DATE, amount DECIMAL(18,2), source_doc VARCHAR)"
    )


def _incoming_rows(con) -> str:
    """The rows to load as a table that can be changed; its name."""
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() "
        "WHERE table_name = 'staging_incoming_rows' AND temporary"
    ).fetchone()[0]
    if not exists:
        con.execute(
            "CREATE TEMP TABLE staging_incoming_rows AS SELECT * FROM staging_incoming"
        )
        con.execute(
            "CREATE OR REPLACE TEMP VIEW staging_incoming AS "
            "SELECT * FROM staging_incoming_rows"
        )
    return "staging_incoming_rows"


def _settle_lettering(con) -> None:
    """Replace each lettered group by its open items and dated allocations."""
    rows = con.execute(
        "SELECT line, customer_number, currency, letter, doc_number, letter_date, "
        "amount FROM staging_incoming WHERE letter IS NOT NULL"
    ).fetchall()
    if not rows:
        return
    outcome = lettering.reduce([lettering.Line(*row) for row in rows])
    con.execute(
        "CREATE OR REPLACE TEMP TABLE staging_open (line BIGINT, open DECIMAL(18,2))"
    )
    con.executemany(
        "INSERT INTO staging_open VALUES (?, ?)",
        [[line, amount] for line, amount in outcome.open_amounts.items()],
    )
    rows = _incoming_rows(con)
    con.execute(
        f"UPDATE {rows} SET open_amount = o.open FROM staging_open o "
        f"WHERE {rows}.line = o.line"
    )
    if outcome.consumed:
        con.execute(
            f"DELETE FROM {rows} WHERE list_contains(?, line)",
            [sorted(outcome.consumed)],
        )
    if outcome.allocations:
        con.executemany(
            "INSERT INTO staging_allocations VALUES (?, ?, ?, ?)",
            [list(allocation) for allocation in outcome.allocations],
        )


def _preview(con, table: str) -> list[dict[str, Any]]:
    cursor = con.execute(f"SELECT * FROM {table} ORDER BY line LIMIT {PREVIEW_ROWS}")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _write_items(con, report, options, settings, single_currency: bool) -> None:
    """Customers, contacts, items and allocations, as one snapshot or appended."""
    import_id = _next_import_id(con)
    report.import_id = import_id
    report.customers_created = _upsert_customers_from_items(
        con, import_id, settings, single_currency
    )
    _add_contacts_from_items(con, import_id)

    if options.mode == "append":
        _refuse_existing_documents(con, report)

    # Same customer, type and number as a stored item: the item is updated in place
    # so actions and selections that point to it keep pointing to it.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE staging_matched AS
        SELECT s.line, i.item_id FROM staging_incoming s
        JOIN items i USING (customer_number, doc_type, doc_number)
        """
    )
    con.execute(
        """
        UPDATE items SET issue_date = s.issue_date, due_date = s.due_date,
            amount = s.amount, open_amount = s.open_amount, currency = s.currency,
            reference = s.reference, paid_date = s.paid_date,
            status = CASE WHEN s.status <> 'open' THEN s.status ELSE items.status END,
            due_date_problem = s.due_date_problem, import_id = $import_id,
            line = s.line, closed_by_import = NULL
        FROM staging_incoming s JOIN staging_matched m USING (line)
        WHERE items.item_id = m.item_id
        """,
        {"import_id": import_id},
    )
    # New items take ids above every stored one; the line number keeps them unique
    # within the file without sorting a million rows.
    base = con.execute("SELECT coalesce(max(item_id), 0) FROM items").fetchone()[0]
    matched = con.execute("SELECT count(*) FROM staging_matched").fetchone()[0]
    con.execute(
        f"""
        INSERT INTO items (item_id, customer_number, doc_type, doc_number, issue_date,
            due_date, amount, open_amount, currency, reference, paid_date, status,
            due_date_problem, import_id, line)
        SELECT $base + line, customer_number, doc_type,
            doc_number, issue_date, due_date, amount, open_amount, currency,
            reference, paid_date, status, due_date_problem, $import_id, line
        FROM staging_incoming
        {"WHERE line NOT IN (SELECT line FROM staging_matched)" if matched else ""}
        """,
        {"base": base, "import_id": import_id},
    )

    # Allocations of the loaded items are the file's, replacing earlier ones.
    con.execute(
        """
        DELETE FROM allocations WHERE item_id IN (
          SELECT item_id FROM items WHERE import_id = $import_id)
        """,
        {"import_id": import_id},
    )
    con.execute(
        """
        INSERT INTO allocations (item_id, paid_on, amount, source_doc, import_id)
        SELECT i.item_id, a.paid_on, a.amount, a.source_doc, $import_id
        FROM staging_allocations a
        JOIN items i ON i.import_id = $import_id AND i.line = a.line
        """,
        {"import_id": import_id},
    )
    if options.mode == "replace":
        report.items_closed = _close_missing_items(con, import_id, options, report)
    report.rows_loaded = con.execute(
        "SELECT count(*) FROM staging_incoming"
    ).fetchone()[0]


def _refuse_existing_documents(con, report: Report) -> None:
    """In append mode a document already stored is a rejected row, not an update."""
    clashes = con.execute(
        """
        SELECT s.line, s.doc_number, i.import_id FROM staging_incoming s
        JOIN items i USING (customer_number, doc_type, doc_number) ORDER BY s.line
        """
    ).fetchall()
    for line, doc_number, earlier in clashes:
        report.problems.append(
            Problem(
                line,
                report.mapping.get("doc_number", "doc_number"),
                doc_number,
                f"duplicate document {doc_number}: already in the workspace (import "
                f"#{earlier}); import in replace mode to update it",
            )
        )
    if clashes:
        con.execute(
            f"DELETE FROM {_incoming_rows(con)} WHERE list_contains(?, line)",
            [[line for line, _, _ in clashes]],
        )


def _close_missing_items(con, import_id: int, options: Options, report) -> int:
    """A snapshot closes the stored items of its customers that it no longer lists.

    They are kept (actions point to them) with the snapshot's date as paid date, so
    replaying an earlier as-of date still shows them open. A document the file
    still names, even on a rejected row, is not "no longer listed"; a customer with
    a rejected row that names no document keeps all of its items.
    """
    closed_on = options.as_of or clock.today()
    # The first import into a workspace has nothing to close: one count says so.
    earlier = "SELECT count(*) FROM items WHERE coalesce(import_id, -1) <> ?"
    if not con.execute(earlier, [import_id]).fetchone()[0]:
        return 0
    missing = """
        WHERE customer_number IN (SELECT DISTINCT customer_number FROM staging_incoming)
          AND coalesce(import_id, -1) <> $import_id AND open_amount <> 0
          AND (paid_date IS NULL OR paid_date > $closed_on)
          AND NOT EXISTS (
            SELECT 1 FROM staging_items s
            WHERE s.customer_number = items.customer_number
              AND s.doc_number = items.doc_number)
          AND customer_number NOT IN (
            SELECT customer_number FROM staging_items
            WHERE doc_number IS NULL AND customer_number IS NOT NULL
              AND line IN (SELECT line FROM staging_rejected))
    """
    params = {"import_id": import_id, "closed_on": closed_on}
    closed = con.execute(
        f"SELECT customer_number, doc_number FROM items {missing} ORDER BY 1, 2",
        params,
    ).fetchall()
    con.execute(
        "UPDATE items SET paid_date = $closed_on, closed_by_import = $import_id "
        + missing,
        params,
    )
    for customer_number, doc_number in closed:
        report.problems.append(
            Problem(
                None,
                None,
                doc_number,
                f"{customer_number} {doc_number} is no longer in this snapshot: "
                f"closed as paid on {closed_on:%Y-%m-%d}",
                "warning",
            )
        )
    return len(closed)


def _next_import_id(con) -> int:
    """The next import number; read in the transaction, so a preview uses none."""
    return con.execute(
        "SELECT coalesce(max(import_id), 0) + 1 FROM imports"
    ).fetchone()[0]


def _customer_defaults(settings) -> dict[str, Any]:
    return {
        "language": settings["defaults.language"],
        "currency": settings["defaults.currency"],
        "terms": settings["defaults.payment_terms_days"],
        "rule": settings["defaults.penalty_rule"],
        "indemnity": settings["defaults.indemnity_enabled"],
    }


def _upsert_customers_from_items(con, import_id, settings, single_currency) -> int:
    """Customers named by items: new ones get the defaults and are flagged.

    A customer's currency is the one most of its items use; when the file has one
    currency, any item tells it, without counting per customer.
    """
    defaults = _customer_defaults(settings)
    currency = "any_value(currency)" if single_currency else "mode(currency)"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE staging_customers AS
        SELECT customer_number, any_value(customer_name) AS name,
               any_value(segment) AS segment,
               any_value(account_manager) AS account_manager,
               any_value(country) AS country,
               any_value(lower(language)) AS language,
               any_value(phone) AS phone,
               {currency} AS currency
        FROM staging_incoming GROUP BY customer_number
        """
    )
    created = con.execute(
        "SELECT count(*) FROM staging_customers WHERE customer_number NOT IN "
        "(SELECT customer_number FROM customers)"
    ).fetchone()[0]
    con.execute(
        """
        INSERT INTO customers (customer_number, name, phone, country, language,
            currency, payment_terms_days, segment, account_manager, penalty_rule,
            indemnity_enabled, needs_review, created_by_import)
        SELECT customer_number, name, phone, country,
               CASE WHEN language IN ('fr', 'en') THEN language ELSE $language END,
               coalesce(currency, $currency), $terms, segment, account_manager,
               $rule, $indemnity, true, $import_id
        FROM staging_customers
        WHERE customer_number NOT IN (SELECT customer_number FROM customers)
        """,
        {**defaults, "import_id": import_id},
    )
    con.execute(
        """
        UPDATE customers SET
            name = coalesce(s.name, customers.name),
            segment = coalesce(s.segment, customers.segment),
            account_manager = coalesce(s.account_manager, customers.account_manager),
            country = coalesce(s.country, customers.country),
            phone = coalesce(s.phone, customers.phone),
            updated_at = current_timestamp
        FROM staging_customers s
        WHERE customers.customer_number = s.customer_number
          AND coalesce(customers.created_by_import, -1) <> $import_id
        """,
        {"import_id": import_id},
    )
    return created


def _add_contacts_from_items(con, import_id: int) -> None:
    """A ledger with contact columns adds each customer's contact once."""
    rows = con.execute(
        """
        SELECT DISTINCT customer_number, contact_name, email FROM staging_incoming
        WHERE email IS NOT NULL OR contact_name IS NOT NULL ORDER BY ALL
        """
    ).fetchall()
    for customer_number, name, email in rows:
        checked = _check_contact(name, email)
        if checked is None:
            continue
        name, addresses = checked
        for address in addresses or [None]:
            exists = con.execute(
                "SELECT count(*) FROM contacts WHERE customer_number = ? AND "
                "coalesce(email, '') = coalesce(?, '') AND "
                "coalesce(name, '') = coalesce(?, '')",
                [customer_number, address, name],
            ).fetchone()[0]
            if not exists:
                con.execute(
                    "INSERT INTO contacts (customer_number, name, role, email, "
                    "import_id) VALUES (?, ?, NULL, ?, ?)",
                    [customer_number, name, address, import_id],
                )


# ---------------------------------------------------------------------------
# Customers and contacts files


def _column_sql(source: sources.Source, mapping: dict[str, str], name: str) -> str:
    column = mapping.get(name)
    return source.column_id(column) if column else "NULL::VARCHAR"


def _text_rows(con, source, mapping, fields) -> list[dict[str, Any]]:
    select = ", ".join(
        f"{parsing.clean(_column_sql(source, mapping, f))} AS {f}" for f in fields
    )
    cursor = con.execute(f"SELECT line, {select} FROM {source.table} ORDER BY line")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _import_customers(con, source, report: Report, options: Options) -> None:
    """Customer records: created or updated field by field, by customer number."""
    mapping = report.mapping
    fields = [f for f in columns.KIND_FIELDS["customers"]]
    rows = _text_rows(con, source, mapping, fields)
    settings = store.settings(con, "defaults.")
    import_id = _next_import_id(con)
    report.import_id = import_id
    loaded = 0
    seen: dict[str, int] = {}
    for row in rows:
        record, problems = _customer_record(row, mapping, seen)
        report.problems.extend(problems)
        if record is None:
            continue
        refused = _check_penalty_settings(
            con, record, row, mapping, _customer_defaults(settings)
        )
        if refused:
            report.problems.append(refused)
            continue
        seen[record["customer_number"]] = row["line"]
        _store_customer(con, record, settings, import_id)
        if row.get("email") or row.get("contact_name"):
            _store_contacts(
                con, record["customer_number"], row, None, import_id, report
            )
        loaded += 1
    report.rows_loaded = loaded
    report.preview = rows[:PREVIEW_ROWS]


# The customers column each field of a customers file fills; the other fields
# (number, contact name, email) go to the key and the contacts.
_CUSTOMER_COLUMNS = {
    field_name: "name" if field_name == "customer_name" else field_name
    for field_name in columns.KIND_FIELDS["customers"]
    if ("name" if field_name == "customer_name" else field_name) in customers.EDITABLE
}
_TERMS = re.compile(r"(?i)^(?:net\s*)?(\d+)\s*(?:jours?|j|days?|d)?$")


def _customer_record(row, mapping, seen):
    """A customer row checked and converted; problems for what is wrong in it.

    Every value goes through `customers.checked_field`, the check of the customer
    record itself, once the file's way of writing it is read (`_customer_text`).
    A value the record would refuse rejects the row, except a language, which
    falls back to the workspace default with a warning.
    """
    line = row["line"]
    number = row["customer_number"]
    if number is None:
        if _TOTAL.match(str(row.get("customer_name") or "")):
            return None, []
        return None, [
            Problem(line, mapping["customer_number"], None, "no customer number")
        ]
    if number in seen:
        return None, [
            Problem(
                line,
                mapping["customer_number"],
                number,
                f"customer {number} appears twice (first on line {seen[number]}); "
                "keep one row per customer",
            )
        ]
    record: dict[str, Any] = {"customer_number": number}
    problems = []
    for field_name, column in _CUSTOMER_COLUMNS.items():
        text = row.get(field_name)
        if text is None:
            continue
        try:
            record[column] = customers.checked_field(
                column, _customer_text(field_name, text)
            )
        except InvalidValue as error:
            fallback = field_name == "language"
            message = f"{error} The workspace default is used." if fallback else error
            severity = "warning" if fallback else "error"
            problems.append(
                Problem(line, mapping.get(field_name), text, str(message), severity)
            )
    if any(p.severity == "error" for p in problems):
        return None, problems
    return record, problems


def _customer_text(field_name: str, text: str) -> str:
    """A customer cell as the customer record takes it: 'French' -> 'fr', '8,5 %'
    -> '8,5', '30 jours' -> '30', 'FR legal' -> 'fr_legal', 'eur' -> 'EUR'."""
    if field_name == "language":
        return text.lower()[:2]
    if field_name == "currency":
        code = text.upper()
        if code not in CURRENCIES:
            raise InvalidValue(
                f"Unknown currency code {text!r}: use an ISO code such as EUR, USD "
                "or GBP."
            )
        return code
    if field_name == "payment_terms_days":
        terms = _TERMS.match(text)
        return terms.group(1) if terms else text
    if field_name == "penalty_rule":
        return columns.normalise(text).replace(" ", "_")
    if field_name == "penalty_rate":
        return re.sub(r"\s*%$", "", text)
    return text


def _check_penalty_settings(con, record, row, mapping, defaults) -> Problem | None:
    """A problem when the record, with what is stored already, lacks a fixed rate."""
    stored = con.execute(
        "SELECT penalty_rule, penalty_rate FROM customers WHERE customer_number = ?",
        [record["customer_number"]],
    ).fetchone()
    rule, rate = stored or (defaults["rule"], None)
    merged = {"penalty_rule": rule, "penalty_rate": rate, **record}
    try:
        customers.check_penalty_settings(merged)
    except InvalidValue as error:
        given = "penalty_rule" if row.get("penalty_rule") else "penalty_rate"
        return Problem(
            row["line"],
            mapping.get(given) or mapping.get("penalty_rule"),
            row.get(given),
            f"{error} Add a penalty rate column or write the rate on this row.",
        )
    return None


def _store_customer(con, record, settings, import_id: int) -> None:
    defaults = _customer_defaults(settings)
    exists = con.execute(
        "SELECT count(*) FROM customers WHERE customer_number = ?",
        [record["customer_number"]],
    ).fetchone()[0]
    if not exists:
        con.execute(
            """
            INSERT INTO customers (customer_number, language, currency,
                payment_terms_days, penalty_rule, indemnity_enabled, needs_review,
                created_by_import)
            VALUES (?, ?, ?, ?, ?, ?, false, ?)
            """,
            [
                record["customer_number"],
                defaults["language"],
                defaults["currency"],
                defaults["terms"],
                defaults["rule"],
                defaults["indemnity"],
                import_id,
            ],
        )
    given = {
        column: record[column]
        for column in _CUSTOMER_COLUMNS.values()
        if record.get(column) is not None
    }
    assignments = ", ".join(f"{k} = ?" for k in given)
    con.execute(
        f"UPDATE customers SET {assignments}{', ' if given else ''}"
        "needs_review = false, updated_at = current_timestamp "
        "WHERE customer_number = ?",
        [*given.values(), record["customer_number"]],
    )


def _check_contact(name: str | None, email: str | None):
    """A contact's name and addresses, or None when a field is unsafe to keep.

    An address field may list several addresses separated by ';'. A line break in
    any field, or an address that does not parse, refuses the contact: those are
    the shapes header-injection attempts take.
    """
    for text in (name, email):
        if text is not None and ("\r" in text or "\n" in text):
            return None
    addresses = []
    if email:
        for part in re.split(r"[;,]", email):
            part = part.strip()
            if part and not _EMAIL.fullmatch(part):
                return None
            if part:
                addresses.append(part)
    return name, addresses


def _contact_problem(line, mapping, name, email) -> Problem:
    for field_name, text in (("contact_name", name), ("email", email)):
        if text is not None and ("\r" in text or "\n" in text):
            return Problem(
                line,
                mapping.get(field_name),
                text.replace("\r", "\\r").replace("\n", "\\n"),
                f"the {field_name.replace('_', ' ')} contains a line break; "
                "correct the contact in the source file",
            )
    return Problem(
        line,
        mapping.get("email"),
        email,
        f"invalid email address '{email}': write one address per contact, "
        "like name@company.com, or several separated by ';'",
    )


def _store_contacts(con, customer_number, row, role, import_id, report) -> bool:
    checked = _check_contact(row.get("contact_name"), row.get("email"))
    if checked is None:
        report.problems.append(
            _contact_problem(
                row["line"], report.mapping, row.get("contact_name"), row.get("email")
            )
        )
        return False
    name, addresses = checked
    for address in addresses or [None]:
        con.execute(
            "INSERT INTO contacts (customer_number, name, role, email, phone, "
            "import_id) VALUES (?, ?, ?, ?, ?, ?)",
            [customer_number, name, role, address, row.get("phone"), import_id],
        )
    return True


def _role(text: str | None) -> str | None:
    if text is None:
        return None
    key = columns.normalise(text)
    for role, names in CONTACT_ROLES.items():
        if key in names or key == role:
            return role
    return "other"


def _import_contacts(con, source, report: Report, options: Options) -> None:
    """Contacts, attached by customer number; a snapshot replaces a customer's."""
    mapping = report.mapping
    rows = _text_rows(con, source, mapping, columns.KIND_FIELDS["contacts"])
    settings = store.settings(con, "defaults.")
    import_id = _next_import_id(con)
    report.import_id = import_id
    replaced: set[str] = set()
    loaded = 0
    for row in rows:
        number = row["customer_number"]
        if number is None:
            report.problems.append(
                Problem(
                    row["line"],
                    mapping["customer_number"],
                    None,
                    "no customer number: contacts are attached by customer number",
                )
            )
            continue
        if _check_contact(row.get("contact_name"), row.get("email")) is None:
            report.problems.append(
                _contact_problem(
                    row["line"], mapping, row.get("contact_name"), row.get("email")
                )
            )
            continue
        _ensure_customer(con, number, row.get("customer_name"), settings, import_id)
        if options.mode == "replace" and number not in replaced:
            con.execute("DELETE FROM contacts WHERE customer_number = ?", [number])
            replaced.add(number)
        if _store_contacts(con, number, row, _role(row.get("role")), import_id, report):
            loaded += 1
    report.rows_loaded = loaded
    report.preview = rows[:PREVIEW_ROWS]


def _ensure_customer(con, number, name, settings, import_id) -> None:
    exists = con.execute(
        "SELECT count(*) FROM customers WHERE customer_number = ?", [number]
    ).fetchone()[0]
    if exists:
        return
    defaults = _customer_defaults(settings)
    con.execute(
        """
        INSERT INTO customers (customer_number, name, language, currency,
            payment_terms_days, penalty_rule, indemnity_enabled, needs_review,
            created_by_import)
        VALUES (?, ?, ?, ?, ?, ?, ?, true, ?)
        """,
        [
            number,
            name,
            defaults["language"],
            defaults["currency"],
            defaults["terms"],
            defaults["rule"],
            defaults["indemnity"],
            import_id,
        ],
    )


# ---------------------------------------------------------------------------
# The import record


def _record_import(con, report: Report, digest: str, started: dt.datetime) -> None:
    con.execute(
        """
        INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        [
            report.import_id,
            report.file_name,
            digest,
            report.format,
            report.kind,
            report.mode,
            json.dumps(report.mapping),
            json.dumps(report.detected, default=str),
            report.rows_read,
            report.rows_loaded,
            report.rows_rejected,
            started,
            dt.datetime.now(),
        ],
    )
    if report.problems:
        con.executemany(
            "INSERT INTO import_problems VALUES (?, ?, ?, ?, ?, ?)",
            [
                [report.import_id, p.line, p.column, p.value, p.message, p.severity]
                for p in report.problems
            ],
        )


def history(con: duckdb.DuckDBPyConnection, limit: int = 50) -> list[dict[str, Any]]:
    """The latest imports, newest first."""
    cursor = con.execute(
        "SELECT import_id, file_name, format, kind, mode, rows_read, rows_loaded, "
        "rows_rejected, finished_at FROM imports ORDER BY import_id DESC LIMIT ?",
        [limit],
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def problems_of(con: duckdb.DuckDBPyConnection, import_id: int) -> list[dict]:
    """The problems recorded for one import."""
    cursor = con.execute(
        "SELECT line, column_name AS column, value, message, severity "
        "FROM import_problems WHERE import_id = ? ORDER BY line NULLS FIRST",
        [import_id],
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

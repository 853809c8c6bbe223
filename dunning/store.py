"""The workspace database: one DuckDB file, its schema, migrations and settings."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

from dunning.errors import WorkspaceError, WorkspaceLocked

log = logging.getLogger(__name__)

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_PATH = PROJECT_DIR / "data" / "workspace.duckdb"

# Settings a new workspace starts with; every one is editable in the app.
DEFAULT_SETTINGS: dict[str, Any] = {
    "defaults.language": "fr",
    "defaults.currency": "EUR",
    "defaults.payment_terms_days": 30,
    "defaults.penalty_rule": "fr_legal",
    "defaults.indemnity_enabled": True,
    "workspace.demo": False,
    # fr_legal: "split" gives each half-year of a delay its own rate; "due_half_year"
    # keeps the rate of the half-year in which the invoice fell due (DESIGN 7).
    "penalties.fr_rate_reference": "split",
    "company.name": "",
    "company.address": "",
    "company.iban": "",
    "company.logo": "",
    "sender.name": "",
    "sender.email": "",
    "sender.phone": "",
}

# Ordered migrations: version N turns a version N-1 workspace into version N.
# Never edit a released step; append a new one.
MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
        CREATE TABLE settings (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);

        CREATE TABLE customers (
            customer_number VARCHAR PRIMARY KEY,
            name VARCHAR,
            phone VARCHAR,
            address VARCHAR,
            postal_code VARCHAR,
            city VARCHAR,
            country VARCHAR,
            language VARCHAR NOT NULL,
            currency VARCHAR NOT NULL,
            payment_terms_days INTEGER NOT NULL,
            segment VARCHAR,
            account_manager VARCHAR,
            penalty_rule VARCHAR NOT NULL,
            penalty_rate DECIMAL(9,4),
            indemnity_enabled BOOLEAN NOT NULL,
            is_consumer BOOLEAN NOT NULL DEFAULT false,
            in_insolvency BOOLEAN NOT NULL DEFAULT false,
            needs_review BOOLEAN NOT NULL DEFAULT false,
            created_by_import BIGINT,
            updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp
        );

        CREATE SEQUENCE contact_ids START 1;
        CREATE TABLE contacts (
            contact_id BIGINT PRIMARY KEY DEFAULT nextval('contact_ids'),
            customer_number VARCHAR NOT NULL,
            name VARCHAR,
            role VARCHAR,
            email VARCHAR,
            phone VARCHAR,
            import_id BIGINT
        );

        -- No index on items: DuckDB's indexes slow bulk loads, and the importer
        -- enforces one document per (customer, document type, document number).
        CREATE TABLE items (
            item_id BIGINT NOT NULL,
            customer_number VARCHAR NOT NULL,
            doc_type VARCHAR NOT NULL,
            doc_number VARCHAR NOT NULL,
            issue_date DATE,
            due_date DATE,
            amount DECIMAL(18,2) NOT NULL,
            open_amount DECIMAL(18,2) NOT NULL,
            currency VARCHAR NOT NULL,
            reference VARCHAR,
            paid_date DATE,
            status VARCHAR NOT NULL DEFAULT 'open',
            status_date DATE,
            status_comment VARCHAR,
            status_author VARCHAR,
            promise_date DATE,
            due_date_problem VARCHAR,
            import_id BIGINT,
            line BIGINT,
            closed_by_import BIGINT
        );

        -- Dated amounts paid against an invoice (lettering, matching columns).
        CREATE TABLE allocations (
            item_id BIGINT NOT NULL,
            paid_on DATE,
            amount DECIMAL(18,2) NOT NULL,
            source_doc VARCHAR,
            import_id BIGINT
        );

        CREATE SEQUENCE import_ids START 1;
        CREATE TABLE imports (
            import_id BIGINT PRIMARY KEY,
            file_name VARCHAR NOT NULL,
            file_hash VARCHAR NOT NULL,
            format VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            mode VARCHAR NOT NULL,
            mapping VARCHAR NOT NULL,
            detected VARCHAR NOT NULL,
            rows_read BIGINT NOT NULL,
            rows_loaded BIGINT NOT NULL,
            rows_rejected BIGINT NOT NULL,
            started_at TIMESTAMP NOT NULL,
            finished_at TIMESTAMP NOT NULL
        );

        CREATE TABLE import_problems (
            import_id BIGINT NOT NULL,
            line BIGINT,
            column_name VARCHAR,
            value VARCHAR,
            message VARCHAR NOT NULL,
            severity VARCHAR NOT NULL
        );

        CREATE TABLE mappings (
            name VARCHAR PRIMARY KEY,
            kind VARCHAR NOT NULL,
            mapping VARCHAR NOT NULL,
            saved_at TIMESTAMP NOT NULL DEFAULT current_timestamp
        );
        """,
    ),
    (
        2,
        """
        -- Searches saved by name: the filters as JSON text (search.to_json).
        CREATE TABLE saved_searches (
            name VARCHAR PRIMARY KEY,
            filters VARCHAR NOT NULL,
            saved_at TIMESTAMP NOT NULL DEFAULT current_timestamp
        );
        """,
    ),
    (
        3,
        """
        -- Templates saved by users; the predefined ones live in templates/.
        CREATE TABLE templates (
            name VARCHAR PRIMARY KEY,
            channel VARCHAR NOT NULL,
            language VARCHAR NOT NULL,
            subject VARCHAR NOT NULL,
            body VARCHAR NOT NULL,
            saved_at TIMESTAMP NOT NULL DEFAULT current_timestamp
        );

        CREATE SEQUENCE campaign_ids START 1;
        CREATE TABLE campaigns (
            campaign_id BIGINT PRIMARY KEY,
            name VARCHAR NOT NULL,
            filters VARCHAR NOT NULL,
            template VARCHAR,
            as_of DATE NOT NULL,
            created_at TIMESTAMP NOT NULL,
            created_by VARCHAR NOT NULL
        );

        -- A reminder or task on chosen items of one customer (DESIGN 4 and 10).
        -- Totals and recipients are JSON text; money inside is "1234.56" strings.
        -- No PRIMARY KEY (ids come from the sequence): on a table with one, DuckDB
        -- 2.0.1 lets two transactions both commit an UPDATE ... RETURNING of the
        -- same row, and carrying out an action at most once relies on that
        -- write-write conflict being reported.
        CREATE SEQUENCE action_ids START 1;
        CREATE TABLE actions (
            action_id BIGINT NOT NULL,
            customer_number VARCHAR NOT NULL,
            type VARCHAR NOT NULL,
            status VARCHAR NOT NULL,
            mode VARCHAR NOT NULL,
            planned_for DATE NOT NULL,
            as_of DATE NOT NULL,
            template VARCHAR,
            subject VARCHAR NOT NULL,
            body VARCHAR NOT NULL,
            rendered_subject VARCHAR,
            rendered_text VARCHAR,
            rendered_html VARCHAR,
            recipients VARCHAR,
            totals VARCHAR NOT NULL,
            campaign_id BIGINT,
            executed_at TIMESTAMP,
            message_id VARCHAR,
            export_file VARCHAR,
            error VARCHAR,
            cancel_reason VARCHAR,
            attempts INTEGER NOT NULL DEFAULT 0,
            include_disputed BOOLEAN NOT NULL DEFAULT false,
            attach_statement BOOLEAN NOT NULL DEFAULT false,
            claimed_at TIMESTAMP,
            run_as_of DATE,
            -- The totals of what carrying out claimed (NULL until then); `totals`
            -- keeps those at validation.
            totals_claimed VARCHAR,
            created_at TIMESTAMP NOT NULL,
            created_by VARCHAR NOT NULL
        );

        -- Each item as it was when the action was validated, never changed; and
        -- what carrying out claimed for it.
        CREATE TABLE action_items (
            action_id BIGINT NOT NULL,
            item_id BIGINT NOT NULL,
            doc_number VARCHAR NOT NULL,
            doc_type VARCHAR NOT NULL,
            currency VARCHAR NOT NULL,
            due_date DATE,
            open_amount DECIMAL(18,2) NOT NULL,
            days_late INTEGER,
            interest DECIMAL(18,2) NOT NULL,
            indemnity DECIMAL(18,2) NOT NULL,
            indemnity_currency VARCHAR,
            penalty DECIMAL(18,2) NOT NULL,
            dropped_at TIMESTAMP,
            dropped_reason VARCHAR,
            -- What carrying out claimed for the item, at its run date (NULL until
            -- then, and for an item dropped as settled).
            open_amount_claimed DECIMAL(18,2),
            days_late_claimed INTEGER,
            interest_claimed DECIMAL(18,2),
            indemnity_claimed DECIMAL(18,2),
            penalty_claimed DECIMAL(18,2)
        );

        -- Every change of an action: created, rescheduled, cancelled, done, failed...
        CREATE TABLE action_events (
            action_id BIGINT NOT NULL,
            happened_at TIMESTAMP NOT NULL,
            author VARCHAR NOT NULL,
            event VARCHAR NOT NULL,
            detail VARCHAR
        );

        -- Every qualification given to an item (promise, dispute, litigation...).
        CREATE TABLE item_events (
            item_id BIGINT NOT NULL,
            happened_at TIMESTAMP NOT NULL,
            author VARCHAR NOT NULL,
            status VARCHAR NOT NULL,
            status_date DATE,
            promise_date DATE,
            comment VARCHAR,
            action_id BIGINT
        );
        """,
    ),
]

LATEST_VERSION = MIGRATIONS[-1][0]


def default_path() -> Path:
    """The workspace file: $DUNNING_DB, else data/workspace.duckdb."""
    configured = os.environ.get("DUNNING_DB")
    return Path(configured) if configured else DEFAULT_PATH


def connect(
    path: str | Path | None = None, create: bool = True
) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) and migrate the workspace; one per process."""
    path = Path(path) if path else default_path()
    if not create and not path.exists():
        raise WorkspaceError(
            f"There is no workspace at {path}. Import a ledger into it first, or run "
            "`python -m dunning demo`, or check --db / DUNNING_DB."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path))
    except duckdb.IOException as error:
        raise _open_error(path, error) from error
    except duckdb.Error as error:
        raise WorkspaceError(
            f"The workspace file {path} cannot be opened ({_first_line(error)}). "
            "Check that it is a DuckDB workspace, or point DUNNING_DB to another file."
        ) from error
    migrate(con, path)
    return con


def _open_error(path: Path, error: Exception) -> WorkspaceError:
    """Turn DuckDB's open failures into messages a user can act on."""
    text = str(error)
    if "lock" in text.lower():
        holder = re.search(r"PID (\d+)", text)
        who = f" (process {holder.group(1)})" if holder else ""
        return WorkspaceLocked(
            f"The workspace {path} is open in another program{who}. Close the other "
            "app or command, or set DUNNING_DB to another workspace file."
        )
    return WorkspaceError(
        f"The workspace file {path} cannot be read ({_first_line(error)}). "
        "Restore it from a backup, or set DUNNING_DB to another file."
    )


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error)


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The workspace's schema version (0 for an empty file)."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_name = 'schema_version' AND table_schema = 'main'"
    ).fetchone()[0]
    if not exists:
        return 0
    row = con.execute("SELECT max(version) FROM schema_version").fetchone()
    return row[0] or 0


def migrate(con: duckdb.DuckDBPyConnection, path: Path | str = "") -> None:
    """Apply the migrations this workspace has not had yet, each in a transaction."""
    current = schema_version(con)
    if current > LATEST_VERSION:
        raise WorkspaceError(
            f"The workspace {path} was made by a newer release (schema {current}, "
            f"this release knows {LATEST_VERSION}). Update the application."
        )
    if current == 0:
        con.execute(
            "CREATE TABLE IF NOT EXISTS schema_version "
            "(version INTEGER NOT NULL, applied_at TIMESTAMP NOT NULL)"
        )
    for version, script in MIGRATIONS:
        if version <= current:
            continue
        with transaction(con):
            for statement in _statements(script):
                con.execute(statement)
            con.execute(
                "INSERT INTO schema_version VALUES (?, current_timestamp)", [version]
            )
        log.info("workspace migrated to schema %s", version)
    _seed_settings(con)


def _statements(script: str) -> list[str]:
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]


def _seed_settings(con: duckdb.DuckDBPyConnection) -> None:
    for key, value in DEFAULT_SETTINGS.items():
        con.execute(
            "INSERT INTO settings VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
            [key, json.dumps(value)],
        )


# How deep each connection is in transaction blocks, by id: DuckDB cannot say, and a
# BEGIN inside a transaction aborts it.
_open_transactions: dict[int, int] = {}


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Run a block in one transaction: all of it is stored, or none.

    A block inside another one on the same connection joins the outer transaction,
    so that a campaign can create many actions, each written by `actions.create`,
    as one transaction.
    """
    key = id(con)
    if _open_transactions.get(key):
        _open_transactions[key] += 1
        try:
            yield con
        finally:
            _open_transactions[key] -= 1
        return
    con.execute("BEGIN TRANSACTION")
    _open_transactions[key] = 1
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    else:
        con.execute("COMMIT")
    finally:
        _open_transactions.pop(key, None)


def get_setting(con: duckdb.DuckDBPyConnection, key: str) -> Any:
    """One workspace setting (its JSON value), or its default."""
    row = con.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
    if row is None:
        return DEFAULT_SETTINGS.get(key)
    return json.loads(row[0])


def set_setting(con: duckdb.DuckDBPyConnection, key: str, value: Any) -> None:
    """Store one workspace setting."""
    con.execute(
        "INSERT INTO settings VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, json.dumps(value)],
    )


def settings(con: duckdb.DuckDBPyConnection, prefix: str = "") -> dict[str, Any]:
    """Every setting under a prefix, defaults included."""
    values = {k: v for k, v in DEFAULT_SETTINGS.items() if k.startswith(prefix)}
    rows = con.execute(
        "SELECT key, value FROM settings WHERE starts_with(key, ?)", [prefix]
    ).fetchall()
    values.update({key: json.loads(value) for key, value in rows})
    return values


# Tables holding a workspace's data (as opposed to its settings and mappings).
DATA_TABLES = (
    "action_events",
    "action_items",
    "actions",
    "campaigns",
    "item_events",
    "allocations",
    "items",
    "contacts",
    "customers",
    "import_problems",
    "imports",
)


def clear_data(con: duckdb.DuckDBPyConnection) -> None:
    """Remove every customer, item and import; settings and mappings stay.

    Runs inside the caller's transaction when there is one.
    """
    for table in DATA_TABLES:
        con.execute(f"DELETE FROM {table}")
    set_setting(con, "workspace.demo", False)


def is_empty(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the workspace holds no customer and no item yet."""
    customers = con.execute("SELECT count(*) FROM customers").fetchone()[0]
    items = con.execute("SELECT count(*) FROM items").fetchone()[0]
    return customers == 0 and items == 0

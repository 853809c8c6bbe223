"""The workspace file: schema, migrations, settings, transactions, locks."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import duckdb
import pytest

from dunning import store
from dunning.errors import WorkspaceError, WorkspaceLocked


def test_new_workspace_has_latest_schema_and_default_settings(tmp_path):
    con = store.connect(tmp_path / "w.duckdb")
    assert store.schema_version(con) == store.LATEST_VERSION
    assert store.get_setting(con, "defaults.language") == "fr"
    assert store.get_setting(con, "defaults.currency") == "EUR"
    assert store.get_setting(con, "defaults.payment_terms_days") == 30
    assert store.get_setting(con, "defaults.penalty_rule") == "fr_legal"
    assert store.is_empty(con)


def test_reopening_keeps_data_and_applies_no_migration_twice(tmp_path):
    path = tmp_path / "w.duckdb"
    con = store.connect(path)
    store.set_setting(con, "defaults.currency", "USD")
    con.close()
    con = store.connect(path)
    versions = con.execute("SELECT count(*) FROM schema_version").fetchone()[0]
    assert versions == len(store.MIGRATIONS)
    assert store.get_setting(con, "defaults.currency") == "USD"


def test_workspace_from_a_newer_release_is_refused(tmp_path):
    path = tmp_path / "w.duckdb"
    con = store.connect(path)
    con.execute("INSERT INTO schema_version VALUES (999, current_timestamp)")
    con.close()
    with pytest.raises(WorkspaceError, match="newer release"):
        store.connect(path)


def test_transaction_rolls_back_everything_on_error(con):
    with pytest.raises(RuntimeError), store.transaction(con):
        store.set_setting(con, "workspace.demo", True)
        raise RuntimeError("stop")
    assert store.get_setting(con, "workspace.demo") is False


def test_file_that_is_not_a_workspace_gives_a_message(tmp_path):
    path = tmp_path / "notes.duckdb"
    path.write_text("this is not a database", encoding="utf-8")
    with pytest.raises(WorkspaceError, match="cannot be"):
        store.connect(path)


def test_file_locked_by_another_process_gives_a_message(tmp_path):
    path = tmp_path / "w.duckdb"
    store.connect(path).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import duckdb, sys, time
                con = duckdb.connect({str(path)!r})
                print("ready", flush=True)
                sys.stdin.read()
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(WorkspaceLocked, match="another program"):
            store.connect(path)
    finally:
        holder.communicate("")


def test_default_path_honours_dunning_db(monkeypatch, tmp_path):
    monkeypatch.setenv("DUNNING_DB", str(tmp_path / "elsewhere.duckdb"))
    assert store.default_path() == tmp_path / "elsewhere.duckdb"
    monkeypatch.delenv("DUNNING_DB")
    assert store.default_path() == store.DEFAULT_PATH


def test_amount_columns_are_decimal(con):
    types = dict(
        con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name IN ('items', 'allocations') "
            "AND column_name IN ('amount', 'open_amount')"
        ).fetchall()
    )
    assert set(types.values()) == {"DECIMAL(18,2)"}
    assert duckdb.__version__.startswith("2.")


def test_a_transaction_inside_another_joins_it(tmp_path):
    con = store.connect(tmp_path / "w.duckdb")
    con.execute("CREATE TABLE t (x INTEGER)")
    with pytest.raises(RuntimeError), store.transaction(con):
        with store.transaction(con):
            con.execute("INSERT INTO t VALUES (1)")
        # The inner block ended without error, yet nothing is committed before
        # the outer one: its failure takes the inner insert back too.
        raise RuntimeError("outer step failed")
    assert con.execute("SELECT count(*) FROM t").fetchone()[0] == 0
    with store.transaction(con):
        with store.transaction(con):
            con.execute("INSERT INTO t VALUES (2)")
        con.execute("INSERT INTO t VALUES (3)")
    assert con.execute("SELECT sum(x) FROM t").fetchone()[0] == 5

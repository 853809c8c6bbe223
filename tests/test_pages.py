"""The Streamlit pages, driven through app.py with AppTest on a real workspace file.

The workspace holds tests/data/echeancier_clients_cp1252.csv, five items at the
fixed today 2026-02-15:
  C00012  FA-2026-0041 1234.56 due 2026-01-31 (15 days late)
          FA-2026-0077 12500.00 due 2026-02-14 (1 day late)
          AV-2026-0003 -250.00 (credit note)
  C00027  FA-2025-1198 980.40 of which 480.40 open, due 2025-12-28 (49 days late)
  C00031  FA-2026-0102 2045.10 due 2026-03-05 (not due)
Balance EUR = 1234.56 + 12500.00 - 250.00 + 480.40 + 2045.10 = 16 010.06;
overdue EUR = 1234.56 + 12500.00 + 480.40 = 14 214.96.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dunning import clock, customers, importing, store

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"
LEDGER = "echeancier_clients_cp1252.csv"
SHARED_LEDGER = (
    ROOT.parent / "shared" / "cases" / "01_csv_semicolon_cp1252_fr_amounts" / LEDGER
)
TIMEOUT = 60
# A second process that holds the workspace file until its stdin closes.
HOLD_WORKSPACE = (
    "import sys, duckdb\n"
    "con = duckdb.connect(sys.argv[1])\n"
    "print('open', flush=True)\n"
    "sys.stdin.read()\n"
)


@pytest.fixture(autouse=True)
def fresh_caches():
    """The app's connection and frames live per process: each test starts clean."""
    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture
def workspace_file(tmp_path, monkeypatch) -> Path:
    """An empty workspace file that the app opens through $DUNNING_DB."""
    path = tmp_path / "w.duckdb"
    monkeypatch.setenv("DUNNING_DB", str(path))
    monkeypatch.setenv("DUNNING_TODAY", "2026-02-15")
    return path


def ledger_file(tmp_path: Path, name: str = LEDGER) -> Path:
    """A copy of a test file (bytes untouched), from tests/data or the shared case."""
    source = DATA / name
    if not source.exists() and name == LEDGER:
        source = SHARED_LEDGER
    target = tmp_path / name
    shutil.copyfile(source, target)
    return target


@pytest.fixture
def workspace(workspace_file, tmp_path) -> Path:
    """The workspace file holding the five items of the French ledger."""
    con = store.connect(workspace_file)
    report = importing.import_file(con, ledger_file(tmp_path), importing.Options())
    assert report.committed and report.rows_loaded == 5
    con.close()
    return workspace_file


def app() -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)


def spaced(text: str) -> str:
    """Babel's French grouping uses no-break spaces; compare with plain ones."""
    return text.replace("\u202f", " ").replace("\xa0", " ")


def metric(at: AppTest, label: str) -> str:
    return next(spaced(m.value) for m in at.metric if m.label == label)


def open_customer(at: AppTest, number: str) -> AppTest:
    """Open a customer record the way a user does from the Accounts page."""
    at.selectbox(key="accounts_open_customer").select(number).run()
    next(b for b in at.button if b.label == "Open record").click().run()
    return at


@pytest.mark.parametrize(
    "page", ["pages/accounts.py", "pages/customer.py", "pages/import_file.py"]
)
def test_each_page_renders(workspace, page):
    at = app().run()
    at.switch_page(page).run()
    assert not at.exception
    assert not at.error


def test_accounts_lists_customers_with_totals(workspace):
    at = app().run()
    assert not at.exception
    table = at.dataframe[0].value
    assert sorted(table["customer_number"]) == ["C00012", "C00027", "C00031"]
    assert metric(at, "Balance EUR") == "16 010,06 €"
    assert metric(at, "Overdue EUR") == "14 214,96 €"


def test_accounts_filter_by_number(workspace):
    at = app().run()
    at.text_input[0].input("c00031")
    next(b for b in at.button if b.label == "Apply filters").click().run()
    assert list(at.dataframe[0].value["customer_number"]) == ["C00031"]
    # The applied filter is kept when the user comes back to the page.
    at.switch_page("pages/customer.py").run()
    at.switch_page("pages/accounts.py").run()
    assert list(at.dataframe[0].value["customer_number"]) == ["C00031"]


def test_accounts_send_one_page_of_rows_at_a_time(workspace_file, tmp_path):
    # 601 customers with one overdue item each: pages of 500 and 101 accounts.
    lines = ["Code client;N° pièce;Date échéance;Reste dû;Devise"]
    lines += [f"D{n:04d};FA-{n};31/12/2025;{n},00;EUR" for n in range(1, 602)]
    ledger = tmp_path / "many.csv"
    ledger.write_text("\n".join(lines) + "\n", encoding="utf-8")
    con = store.connect(workspace_file)
    importing.import_file(con, ledger)
    con.close()
    at = app().run()
    assert len(at.dataframe[0].value) == 500
    at.number_input(key="accounts_page").set_value(2).run()
    assert len(at.dataframe[0].value) == 101
    assert at.dataframe[0].value["customer_number"].iloc[-1] == "D0001"  # least owed


def test_customer_record_shows_open_amount_not_original(workspace):
    at = open_customer(app().run(), "C00027")
    assert not at.exception
    assert at.title[0].value == "Société Générale d'Équipement Rhône"
    items = at.dataframe[-1].value
    row = items[items["Document"] == "FA-2025-1198"].iloc[0]
    assert spaced(row["Open amount"]) == "480,40 €"  # 980.40 - 500.00 paid
    assert spaced(row["Amount"]) == "980,40 €"
    assert row["Days late"] == 49  # 2026-02-15 - 2025-12-28
    assert row["Aging bucket"] == "31-60 days"
    assert metric(at, "Balance EUR") == "480,40 €"
    assert any("created from items only" in w.value for w in at.warning)


def test_customer_record_follows_the_picker(workspace):
    at = open_customer(app().run(), "C00027")
    at.selectbox(key="customer_picker").select("C00031").run()
    assert at.title[0].value == "Cœur de Lion SARL"
    assert at.session_state["customer"] == "C00031"


@pytest.mark.parametrize("rate", ["abc", "150", "nan"])
def test_invalid_penalty_rate_is_refused(workspace, rate):
    at = app().run()
    at.session_state["customer"] = "C00027"
    at.switch_page("pages/customer.py").run()
    at.text_input[0].input(rate)
    next(b for b in at.button if b.label == "Save settings").click().run()
    assert not at.exception
    assert at.error
    assert not at.success


def test_valid_settings_are_saved(workspace):
    at = app().run()
    at.session_state["customer"] = "C00027"
    at.switch_page("pages/customer.py").run()
    at.selectbox[1].select("fixed")
    at.text_input[0].input("12,5")
    next(b for b in at.button if b.label == "Save settings").click().run()
    assert [s.value for s in at.success] == ["Settings saved."]
    assert not any("created from items only" in w.value for w in at.warning)
    con = store.connect(workspace)
    record = customers.get(con, "C00027")
    con.close()
    assert record["penalty_rule"] == "fixed"
    assert record["penalty_rate"] == Decimal("12.5")


def test_customer_without_due_date_is_marked(workspace, tmp_path):
    con = store.connect(workspace)
    importing.import_file(con, ledger_file(tmp_path, "postes_C00310.csv"))
    con.close()
    at = app().run()
    at.session_state["customer"] = "C00310"
    at.switch_page("pages/customer.py").run()
    items = at.dataframe[-2].value
    assert (items["Due date"] == "No due date").sum() == 4
    problems = at.dataframe[-1].value
    assert sorted(problems["Due date in the file"]) == [
        "00/00/0000",
        "31/02/2025",
        "missing",
        "missing",
    ]


def test_import_page_previews_then_asks_before_importing_again(workspace):
    at = app().run()
    at.switch_page("pages/import_file.py").run()
    upload = (DATA / LEDGER) if (DATA / LEDGER).exists() else SHARED_LEDGER
    at.file_uploader[0].set_value((LEDGER, upload.read_bytes(), "text/csv")).run()
    assert not at.exception
    assert metric(at, "Rows read") == "6"  # five items and the footer
    assert metric(at, "Valid rows") == "5"
    assert metric(at, "Rejected rows") == "0"
    problems = at.dataframe[2].value
    assert list(problems["line"]) == [7]
    assert "total row" in problems["message"][0]

    # The same bytes were imported by the fixture: the page asks first.
    next(b for b in at.button if b.label == "Load 5 valid rows").click().run()
    assert any("already imported" in w.value for w in at.warning)
    at.checkbox(key="import_force").check().run()
    next(b for b in at.button if b.label == "Load 5 valid rows").click().run()
    assert not at.exception
    assert "5 row(s) loaded" in at.success[0].value
    assert len(at.dataframe[-1].value) == 2  # the fixture's import and this one


def test_import_page_asks_the_date_order(workspace):
    at = app().run()
    at.switch_page("pages/import_file.py").run()
    ambiguous = (
        "Code client;N° pièce;Date échéance;Reste dû\nC00090;FA-1;03/04/2026;10,00\n"
    )
    at.file_uploader[0].set_value(("ambigu.csv", ambiguous.encode(), "text/csv")).run()
    assert any("day-first or month-first" in w.value for w in at.warning)
    at.radio(key="import_date_order").set_value("mdy").run()
    assert not at.exception
    assert metric(at, "Valid rows") == "1"
    next(b for b in at.button if b.label == "Load 1 valid rows").click().run()
    con = store.connect(workspace)
    items = customers.open_items(con, "C00090", clock.today())
    con.close()
    assert str(items[0]["due_date"]) == "2026-03-04"  # month first: March 4th


def test_unreadable_workspace_is_reported(workspace_file):
    workspace_file.write_text("not a database", encoding="utf-8")
    at = app().run()
    assert not at.exception
    assert "cannot" in at.error[0].value


def test_workspace_locked_by_another_process_is_reported(workspace):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_WORKSPACE, str(workspace)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        at = app().run()
    finally:
        holder.communicate("")
    assert not at.exception
    assert "open in another program" in at.error[0].value


@pytest.mark.skipif(
    importlib.util.find_spec("dunning.demo") is None,
    reason="dunning.demo is not written yet",
)
def test_empty_workspace_opens_on_the_demo(workspace_file):
    at = app().run(timeout=300)
    assert not at.exception
    assert any("DEMO WORKSPACE" in w.value for w in at.sidebar.warning)
    assert len(at.dataframe[0].value) > 0


def test_import_can_be_cancelled(workspace):
    at = app().run()
    at.switch_page("pages/import_file.py").run()
    upload = (DATA / LEDGER) if (DATA / LEDGER).exists() else SHARED_LEDGER
    at.file_uploader[0].set_value((LEDGER, upload.read_bytes(), "text/csv")).run()
    next(b for b in at.button if b.label == "Cancel").click().run()
    assert not at.exception
    assert not at.metric
    assert "import_state" not in at.session_state

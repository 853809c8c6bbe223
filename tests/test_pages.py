"""The Streamlit pages, driven through app.py with AppTest on a real workspace file.

The workspace holds tests/data/echeancier_clients_cp1252.csv, five items at the
fixed today 2026-02-15:
  C00012  FA-2026-0041 1234.56 due 2026-01-31 (15 days late)
          FA-2026-0077 12500.00 due 2026-02-14 (1 day late)
          AV-2026-0003 -250.00 (credit note)
  C00027  FA-2025-1198 980.40 of which 480.40 open, due 2025-12-28 (49 days late)
  C00031  FA-2026-0102 2045.10 due 2026-03-05 (not due)
Balance EUR = 1234.56 + 12500.00 - 250.00 + 480.40 + 2045.10 = 16 010.06;
overdue EUR = 1234.56 + 12500.00 + 480.40 = 14 214.96;
C00012 balance = 1234.56 + 12500.00 - 250.00 = 13 484.56.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.util
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1 import app_test as streamlit_app_test

from dunning import actions, clock, customers, importing, penalties, store

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
DEMO_NOTICE = "Loading will replace the demo data"


@pytest.fixture(autouse=True)
def fresh_caches():
    """The app's connection and frames live per process: each test starts clean."""
    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture(autouse=True)
def navigation_only(monkeypatch):
    """Run app.py on every rerun, as the server does.

    Beside a pages/ folder, AppTest re-detects Streamlit's older folder-based
    multipage mode before each run and, from the second run on, executes the page
    file alone: app.py's sidebar (demo label, as-of date) would never be seen. The
    server decides once per process and st.navigation turns that mode off for good.
    """
    monkeypatch.setattr(PagesManager, "uses_pages_directory", None)
    real = streamlit_app_test.PagesManager

    def navigation_pages(*args, **kwargs):
        manager = real(*args, **kwargs)
        PagesManager.uses_pages_directory = False
        return manager

    monkeypatch.setattr(streamlit_app_test, "PagesManager", navigation_pages)


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


def upload_bytes(name: str = LEDGER) -> bytes:
    source = DATA / name
    if not source.exists() and name == LEDGER:
        source = SHARED_LEDGER
    return source.read_bytes()


def load(workspace_file: Path, path: Path, **options) -> importing.Report:
    con = store.connect(workspace_file)
    try:
        return importing.import_file(con, path, importing.Options(**options))
    finally:
        con.close()


@pytest.fixture
def workspace(workspace_file, tmp_path) -> Path:
    """The workspace file holding the five items of the French ledger."""
    report = load(workspace_file, ledger_file(tmp_path))
    assert report.committed and report.rows_loaded == 5
    return workspace_file


@pytest.fixture
def demo_workspace(workspace) -> Path:
    """The five-item workspace labelled as the demo one: what the demo builder
    leaves, without the seconds it takes to build the real demo."""
    con = store.connect(workspace)
    store.set_setting(con, "workspace.demo", True)
    con.close()
    return workspace


def app() -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)


def spaced(text: str) -> str:
    """Babel's French grouping uses no-break spaces; compare with plain ones."""
    return text.replace("\u202f", " ").replace("\xa0", " ")


def metric(at: AppTest, label: str) -> str:
    return next(spaced(m.value) for m in at.metric if m.label == label)


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def texts(elements) -> list[str]:
    return [spaced(e.value) for e in elements]


def open_customer(at: AppTest, number: str) -> AppTest:
    """Open a customer record the way a user does from the Accounts page."""
    at.selectbox(key="accounts_open_customer").select(number).run()
    button(at, "Open record").click().run()
    return at


def import_page(at: AppTest, name: str = LEDGER) -> AppTest:
    """The Import page with one test file uploaded and previewed."""
    at.switch_page("pages/import_file.py").run()
    at.file_uploader[0].set_value((name, upload_bytes(name), "text/csv")).run()
    assert not at.exception
    return at


def demo_label(at: AppTest) -> bool:
    """Whether the sidebar, drawn on this run, labels the workspace as the demo."""
    assert [d.key for d in at.sidebar.date_input] == ["as_of"]
    return any("DEMO WORKSPACE" in w.value for w in at.sidebar.warning)


# ---------------------------------------------------------------------------
# Every page


@pytest.mark.parametrize(
    "page",
    [
        "pages/accounts.py",
        "pages/customer.py",
        "pages/search.py",
        "pages/import_file.py",
    ],
)
def test_each_page_renders(workspace, page):
    at = app().run()
    at.switch_page(page).run()
    assert not at.exception
    assert not at.error


# ---------------------------------------------------------------------------
# Accounts


def test_accounts_lists_customers_with_totals(workspace):
    at = app().run()
    assert not at.exception
    table = at.dataframe[0].value
    # Sorted in SQL by overdue, largest first: 13 734.56, 480.40, 0.00.
    assert list(table["customer_number"]) == ["C00012", "C00027", "C00031"]
    assert metric(at, "Balance EUR") == "16 010,06 €"
    assert metric(at, "Overdue EUR") == "14 214,96 €"
    c00012 = table.iloc[0]
    assert spaced(c00012["balance"]) == "13 484,56 €"
    assert spaced(c00012["credits"]) == "-250,00 €"
    assert c00012["not_due"] == ""  # no item in that bucket: an empty cell


def test_accounts_filter_via_the_form(workspace):
    at = app().run()
    at.text_input[0].input("c00031")
    button(at, "Apply filters").click().run()
    assert list(at.dataframe[0].value["customer_number"]) == ["C00031"]
    assert any(c.value.startswith("1 account(s) match") for c in at.caption)
    # The applied filter is kept when the user comes back to the page.
    at.switch_page("pages/customer.py").run()
    at.switch_page("pages/accounts.py").run()
    assert list(at.dataframe[0].value["customer_number"]) == ["C00031"]


def test_accounts_overdue_only_sorted_by_name(workspace):
    at = app().run()
    at.checkbox[0].check()
    at.selectbox[0].select("Name")
    button(at, "Apply filters").click().run()
    # C00031 is not due yet; Boulangerie... sorts before Société...
    assert list(at.dataframe[0].value["customer_number"]) == ["C00012", "C00027"]


def test_accounts_filter_matching_nothing_says_so(workspace):
    at = app().run()
    at.text_input[0].input("nobody")
    button(at, "Apply filters").click().run()
    assert not at.exception
    assert not at.dataframe
    assert any("No account matches these filters" in i.value for i in at.info)


def test_accounts_before_any_item_explain_the_empty_page(workspace):
    at = app().run()
    at.date_input(key="as_of").set_value(dt.date(2020, 1, 1)).run()
    assert not at.exception
    assert not at.dataframe
    assert any("No open item at 01/01/2020" in i.value for i in at.info)


def test_accounts_send_one_page_of_rows_at_a_time(workspace_file, tmp_path):
    # 601 customers with one overdue item each: pages of 500 and 101 accounts.
    lines = ["Code client;N° pièce;Date échéance;Reste dû;Devise"]
    lines += [f"D{n:04d};FA-{n};31/12/2025;{n},00;EUR" for n in range(1, 602)]
    ledger = tmp_path / "many.csv"
    ledger.write_text("\n".join(lines) + "\n", encoding="utf-8")
    load(workspace_file, ledger)
    at = app().run()
    assert len(at.dataframe[0].value) == 500
    assert any("601 account(s) match" in c.value for c in at.caption)
    at.number_input(key="accounts_page").set_value(2).run()
    assert len(at.dataframe[0].value) == 101
    assert any("showing 501–601" in c.value for c in at.caption)
    assert at.dataframe[0].value["customer_number"].iloc[-1] == "D0001"  # least owed
    # A narrower filter brings the user back to its first and only page.
    at.text_input[0].input("D060")
    button(at, "Apply filters").click().run()
    assert list(at.dataframe[0].value["customer_number"]) == ["D0601", "D0600"]
    assert not at.number_input


# ---------------------------------------------------------------------------
# Customer record


def test_customer_record_shows_open_amount_not_original(workspace):
    at = open_customer(app().run(), "C00027")
    assert not at.exception
    assert at.title[0].value == "Société Générale d'Équipement Rhône"
    items = record_items(at)
    row = items[items["Document"] == "FA-2025-1198"].iloc[0]
    assert spaced(row["Open amount"]) == "480,40 €"  # 980.40 - 500.00 paid
    assert spaced(row["Amount"]) == "980,40 €"
    assert row["Due date"] == "28/12/2025"
    assert row["Days late"] == 49  # 2026-02-15 - 2025-12-28
    assert row["Aging bucket"] == "31-60 days"
    assert any("created from items only" in w.value for w in at.warning)


def test_customer_balance_is_the_decimal_of_the_domain(workspace):
    at = app().run()
    at.session_state["customer"] = "C00027"
    at.switch_page("pages/customer.py").run()
    assert metric(at, "Balance EUR") == "480,40 €"
    assert metric(at, "Overdue EUR") == "480,40 €"
    assert metric(at, "Open items EUR") == "1"
    assert next(m for m in at.metric if m.label == "Open items EUR").delta == (
        "1 overdue"
    )
    assert "Owes 480,40 € at 15/02/2026, of which 480,40 € overdue." in texts(
        at.caption
    )


def test_customer_without_open_items_says_so(workspace, tmp_path):
    # Both lettering groups of C00131 sum to zero: 100.30 - 50.10 - 50.20 and
    # 0.70 - 0.10 - 0.20 - 0.40; nothing is left open.
    load(workspace, ledger_file(tmp_path, "lettrage_centimes.csv"))
    at = app().run()
    at.session_state["customer"] = "C00131"
    at.switch_page("pages/customer.py").run()
    assert not at.exception
    assert not at.metric
    assert any("Nothing open at 15/02/2026" in i.value for i in at.info)
    assert any(c.value.startswith("No open item at") for c in at.caption)


def test_customer_record_follows_the_picker(workspace):
    at = open_customer(app().run(), "C00027")
    at.selectbox(key="customer_picker").select("C00031").run()
    assert at.title[0].value == "Cœur de Lion SARL"
    assert at.session_state["customer"] == "C00031"


def record_items(at: AppTest):
    """The record's table of open items (its key names the page of rows)."""
    return next(
        d.value for d in at.dataframe if (d.key or "").startswith("customer_rows")
    )


def labelled(widgets, start: str):
    """The widget whose label starts with `start`."""
    return next(w for w in widgets if w.label.startswith(start))


@pytest.mark.parametrize("rate", ["abc", "150", "nan"])
def test_invalid_penalty_rate_is_refused(workspace, rate):
    at = app().run()
    at.session_state["customer"] = "C00027"
    at.switch_page("pages/customer.py").run()
    labelled(at.text_input, "Penalty rate").input(rate)
    button(at, "Save settings").click().run()
    assert not at.exception
    assert at.error
    assert not at.success


def test_valid_settings_are_saved(workspace):
    at = app().run()
    at.session_state["customer"] = "C00027"
    at.switch_page("pages/customer.py").run()
    at.selectbox[1].select("fixed")
    labelled(at.text_input, "Penalty rate").input("12,5")
    button(at, "Save settings").click().run()
    assert [s.value for s in at.success] == ["Settings saved."]
    assert not any("created from items only" in w.value for w in at.warning)
    con = store.connect(workspace)
    record = customers.get(con, "C00027")
    con.close()
    assert record["penalty_rule"] == "fixed"
    assert record["penalty_rate"] == Decimal("12.5")


@pytest.mark.parametrize("days", ["12,5", "abc", "-3"])
def test_invalid_payment_terms_are_refused(workspace, days):
    at = app().run()
    at.session_state["customer"] = "C00027"
    at.switch_page("pages/customer.py").run()
    labelled(at.text_input, "Payment terms").input(days)
    button(at, "Save settings").click().run()
    assert any("whole number of days" in e.value for e in at.error)
    assert not at.success


def test_as_of_date_survives_opening_a_record(workspace):
    at = app().run()
    at.date_input(key="as_of").set_value(dt.date(2026, 1, 10)).run()
    at.session_state["customer"] = "C00027"
    at.switch_page("pages/customer.py").run()
    # FA-2025-1198 fell due on 28/12/2025: 13 days late on 10/01/2026
    texts = [e.value for kind in (at.markdown, at.caption, at.subheader) for e in kind]
    assert any("10/01/2026" in str(text) for text in texts)
    assert not any("15/02/2026" in str(text) for text in texts)  # not "today"


def test_customer_without_due_date_is_marked(workspace, tmp_path):
    load(workspace, ledger_file(tmp_path, "postes_C00310.csv"))
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


# ---------------------------------------------------------------------------
# Search and the selection basket
#
# By due date the five items read: FA-2025-1198 (28/12/2025, 49 days late,
# 480.40 open), AV-2026-0003 (20/01/2026, credit note, -250.00), FA-2026-0041
# (31/01/2026, 15 days, 1234.56), FA-2026-0077 (14/02/2026, 1 day, 12500.00),
# FA-2026-0102 (05/03/2026, not due, 2045.10).


def search_page(at: AppTest) -> AppTest:
    at.switch_page("pages/search.py").run()
    assert not at.exception
    return at


def search_with(at: AppTest, **fields) -> AppTest:
    """Fill the search form (widgets by label start) and submit it."""
    for label, value in fields.items():
        widgets = [*at.text_input, *at.number_input, *at.text_area, *at.date_input]
        labelled(widgets, label).set_value(value)
    button(at, "Search").click().run()
    assert not at.exception
    return at


def tick(at: AppTest, prefix: str, *positions: int) -> AppTest:
    """Tick rows of the page of rows by position, as a click in the table does."""
    table = next(d for d in at.dataframe if (d.key or "").startswith(prefix))
    at.session_state[table.key] = {"selection": {"rows": list(positions)}}
    at.run()
    assert not at.exception
    return at


def documents(at: AppTest) -> list[str]:
    table = next(d for d in at.dataframe if (d.key or "").startswith("search_rows"))
    return list(table.value["doc_number"])


def test_search_page_counts_and_totals_every_match(workspace):
    at = search_page(app().run())
    assert metric(at, "Matching items") == "5"
    # 480.40 - 250.00 + 1234.56 + 12500.00 + 2045.10
    assert metric(at, "Matching EUR") == "16 010,06 €"
    assert documents(at) == [
        "FA-2025-1198",
        "AV-2026-0003",
        "FA-2026-0041",
        "FA-2026-0077",
        "FA-2026-0102",
    ]
    assert "**Active filters:** all open items" in [m.value for m in at.markdown]
    # the basket panel's (empty basket: disabled) stand above the results'
    assert [(b.label, b.proto.disabled) for b in at.get("download_button")] == [
        ("Download the basket (CSV)", True),
        ("Download the basket (XLSX)", True),
        ("Export matches to CSV", False),
        ("Export matches to XLSX", False),
    ]


def test_search_filters_via_the_form_change_the_count(workspace):
    at = search_with(search_page(app().run()), **{"Days late from": 10})
    # 49 and 15 days late: 480.40 + 1234.56
    assert metric(at, "Matching items") == "2"
    assert metric(at, "Matching EUR") == "1 714,96 €"
    assert any("at least 10 days late" in m.value for m in at.markdown)
    at = search_with(at, **{"Text in": "maint"})  # and "Maintenance T4 2025"
    assert documents(at) == ["FA-2025-1198"]
    assert metric(at, "Matching EUR") == "480,40 €"


def test_search_sorts_in_sql_by_the_chosen_column(workspace):
    at = search_page(app().run())
    at.selectbox(key="search_sort").select("open_amount").run()
    at.toggle(key="search_descending").set_value(True).run()
    # 12500.00, 2045.10, 1234.56, 480.40, -250.00
    assert documents(at) == [
        "FA-2026-0077",
        "FA-2026-0102",
        "FA-2026-0041",
        "FA-2025-1198",
        "AV-2026-0003",
    ]


@pytest.mark.parametrize(
    "expression",
    [
        "EXISTS (FROM settings)",
        "1 = 1; DROP TABLE items",
        "read_csv('/etc/passwd') IS NOT NULL",
        "getenv('HOME') <> ''",
    ],
)
def test_refused_expert_expression_keeps_results_and_workspace(workspace, expression):
    at = search_with(search_page(app().run()), **{"Days late from": 10})
    at = search_with(at, **{"Condition": expression})
    assert len(at.error) == 1
    assert at.error[0].value.startswith("**Invalid value.**")
    # the results and the applied filters are the ones from before
    assert metric(at, "Matching items") == "2"
    assert not any("where" in m.value for m in at.markdown if "Active" in m.value)
    con = store.connect(workspace)
    try:
        assert con.execute("SELECT count(*) FROM items").fetchone()[0] == 5
        assert con.execute("SELECT count(*) FROM settings").fetchone()[0] > 0
    finally:
        con.close()


def test_an_accepted_expert_expression_filters(workspace):
    at = search_with(search_page(app().run()), **{"Condition": "days_late > 10"})
    assert not at.error
    assert documents(at) == ["FA-2025-1198", "FA-2026-0041"]  # 49 and 15 days


def test_ticked_rows_stay_in_the_basket_across_filters_and_pages(workspace):
    at = tick(search_page(app().run()), "search_rows", 0, 2)
    assert metric(at, "In basket") == "2"
    assert metric(at, "Basket EUR") == "1 714,96 €"  # 480.40 + 1234.56

    # a narrower search hides both; the basket keeps them and says so
    at = search_with(at, **{"Text in": "0077"})
    assert documents(at) == ["FA-2026-0077"]
    assert metric(at, "In basket") == "2"
    assert metric(at, "Hidden by this view") == "2"
    at = tick(at, "search_rows", 0)  # a third item, from this other view
    assert metric(at, "In basket") == "3"
    assert metric(at, "Basket EUR") == "14 214,96 €"  # 1714.96 + 12500.00

    # a new sort, another page of the app and back: nothing is lost
    at.selectbox(key="search_sort").select("doc_number").run()
    at.switch_page("pages/accounts.py").run()
    at = search_page(at)
    assert metric(at, "In basket") == "3"

    # unticking a row takes only that item out
    at = tick(at, "search_rows")
    assert metric(at, "In basket") == "2"
    assert metric(at, "Basket EUR") == "1 714,96 €"


def test_select_all_matches_then_remove_the_ticked_then_clear(workspace):
    at = search_with(search_page(app().run()), **{"Days late from": 1})
    button(at, "Select all matches").click().run()
    assert metric(at, "In basket") == "3"  # 49, 15 and 1 days late
    assert metric(at, "Basket EUR") == "14 214,96 €"  # 480.40 + 1234.56 + 12500.00

    # the table ticks the basket's items: unticking two takes them out
    at = tick(at, "search_rows", 0)
    assert metric(at, "In basket") == "1"  # FA-2025-1198 only
    button(at, "Select all matches").click().run()
    assert metric(at, "In basket") == "3"

    # "remove the ticked" acts on the rows on screen: 49 and 15 days late
    at = search_with(at, **{"Days late from": 10})
    button(at, "Remove the ticked").click().run()
    assert metric(at, "In basket") == "1"  # FA-2026-0077, hidden by this view
    assert metric(at, "Hidden by this view") == "1"
    assert metric(at, "Basket EUR") == "12 500,00 €"

    button(at, "Clear basket").click().run()
    assert metric(at, "In basket") == "0"
    assert not any(m.label.startswith("Basket ") for m in at.metric)


def test_the_basket_is_shared_with_the_customer_record(workspace):
    at = search_page(app().run())
    button(at, "Select all matches").click().run()
    assert metric(at, "In basket") == "5"

    at.session_state["customer"] = "C00012"
    at.switch_page("pages/customer.py").run()
    assert not at.exception
    assert metric(at, "In basket") == "5"
    assert metric(at, "Hidden by this view") == "2"  # FA-2025-1198 and FA-2026-0102
    # the record's own search, restricted to C00012: 15 and 1 days late
    at = search_with(at, **{"Days late from": 1})
    assert metric(at, "Matching items") == "2"
    # by due date FA-2026-0041 then FA-2026-0077: only the second stays ticked
    at = tick(at, "customer_rows", 1)
    assert metric(at, "In basket") == "4"

    at = search_page(at)
    assert metric(at, "In basket") == "4"
    # 16010.06 - 1234.56, FA-2026-0041 left the basket
    assert metric(at, "Basket EUR") == "14 775,50 €"


def test_saved_search_save_rerun_and_delete(workspace):
    at = search_with(search_page(app().run()), **{"Days late from": 10})
    at.text_input(key="search_save_name").input("Late").run()
    button(at, "Save search").click().run()
    assert any("Saved “Late”" in s.value for s in at.success)

    at = search_with(at, **{"Days late from": 0})  # every item is at least 0 days late
    assert metric(at, "Matching items") == "5"
    at.selectbox(key="search_saved_pick").select("Late").run()
    button(at, "Run").click().run()
    assert metric(at, "Matching items") == "2"
    assert labelled(at.number_input, "Days late from").value == 10  # the form shows it

    button(at, "Delete").click().run()
    assert any("Deleted “Late”" in s.value for s in at.success)
    assert at.selectbox(key="search_saved_pick").options == []
    con = store.connect(workspace)
    try:
        assert con.execute("SELECT count(*) FROM saved_searches").fetchone()[0] == 0
    finally:
        con.close()


def test_an_import_closing_a_basket_item_drops_it_with_a_notice(workspace, tmp_path):
    at = search_page(app().run())
    button(at, "Select all matches").click().run()
    assert metric(at, "In basket") == "5"
    # a snapshot of C00012 that no longer lists its credit note: it is closed
    snapshot = tmp_path / "c00012.csv"
    snapshot.write_text(
        "Code client;N° pièce;Date échéance;Reste dû;Devise\n"
        "C00012;FA-2026-0041;31/01/2026;1234,56;EUR\n"
        "C00012;FA-2026-0077;14/02/2026;12500,00;EUR\n",
        encoding="utf-8",
    )
    load(workspace, snapshot)
    at.run()
    assert not at.exception
    assert metric(at, "In basket") == "4"
    notice = next(w.value for w in at.warning if "left the basket" in w.value)
    assert "C00012 AV-2026-0003" in notice
    assert metric(at, "Basket EUR") == "16 260,06 €"  # 16010.06 + 250.00


# ---------------------------------------------------------------------------
# Import


def test_import_page_without_a_file_shows_the_past_imports(workspace):
    at = app().run()
    at.switch_page("pages/import_file.py").run()
    assert not at.exception
    history = at.dataframe[0].value
    assert list(history["file_name"]) == [LEDGER]


def test_second_preview_of_a_file_warns_before_load(workspace):
    at = import_page(app().run())
    assert metric(at, "Rows read") == "6"  # five items and the footer
    assert metric(at, "Valid rows") == "5"
    assert metric(at, "Rejected rows") == "0"
    problems = at.dataframe[2].value
    assert list(problems["line"]) == [7]
    assert "total row" in problems["message"][0]

    # The fixture imported the same bytes: said at preview, Load waits for a tick.
    assert any("already imported" in w.value for w in at.warning)
    assert button(at, "Load 5 valid rows").disabled
    at.checkbox(key="import_force").check().run()
    button(at, "Load 5 valid rows").click().run()
    assert not at.exception
    assert "5 row(s) loaded" in at.success[0].value
    assert len(at.dataframe[-1].value) == 2  # the fixture's import and this one


def test_a_new_file_loads_at_once_with_its_progress(workspace, monkeypatch):
    steps = []
    real_import = importing.import_file

    def recording(con, path, options=None):
        progress = options.progress

        def record(fraction, what):
            steps.append(fraction)
            progress(fraction, what)

        return real_import(con, path, dataclasses.replace(options, progress=record))

    monkeypatch.setattr(importing, "import_file", recording)
    at = import_page(app().run(), "postes_C00077.csv")
    assert not any("already imported" in w.value for w in at.warning)
    assert not any(DEMO_NOTICE in w.value for w in at.warning)
    button(at, "Load 3 valid rows").click().run()
    assert not at.exception
    assert "3 row(s) loaded" in at.success[0].value
    assert steps and steps == sorted(steps) and 0 < steps[-1] <= 1


def test_importing_into_the_demo_clears_it(demo_workspace):
    at = app().run()
    assert demo_label(at)
    assert len(at.dataframe[0].value) == 3  # cached before the import

    at = import_page(at, "postes_C00077.csv")
    assert any(DEMO_NOTICE in w.value for w in at.warning)
    button(at, "Load 3 valid rows").click().run()
    assert not at.exception
    assert "demo data was cleared" in at.success[0].value
    assert not demo_label(at)

    # The cached accounts were forgotten: only the imported customer is left.
    at.switch_page("pages/accounts.py").run()
    assert list(at.dataframe[0].value["customer_number"]) == ["C00077"]


def test_importing_into_the_demo_can_keep_it(demo_workspace):
    at = import_page(app().run(), "postes_C00077.csv")
    at.checkbox(key="import_keep_demo").check().run()
    button(at, "Load 3 valid rows").click().run()
    assert not at.exception
    assert "demo data was cleared" not in at.success[0].value
    assert demo_label(at)
    at.switch_page("pages/accounts.py").run()
    assert sorted(at.dataframe[0].value["customer_number"]) == [
        "C00012",
        "C00027",
        "C00031",
        "C00077",
    ]


def test_import_page_asks_the_date_order(workspace):
    at = app().run()
    at.switch_page("pages/import_file.py").run()
    ambiguous = (
        "Code client;N° pièce;Date échéance;Reste dû\nC00090;FA-1;03/04/2026;10,00\n"
    )
    at.file_uploader[0].set_value(("ambigu.csv", ambiguous.encode(), "text/csv")).run()
    warning = next(w.value for w in at.warning if "day-first or month-first" in w.value)
    assert "--date-order" in warning
    at.radio(key="import_date_order").set_value("mdy").run()
    assert not at.exception
    assert metric(at, "Valid rows") == "1"
    button(at, "Load 1 valid rows").click().run()
    con = store.connect(workspace)
    items = customers.open_items(con, "C00090", clock.today())
    con.close()
    assert str(items[0]["due_date"]) == "2026-03-04"  # month first: March 4th


def test_unrecognised_columns_are_offered_for_mapping(workspace):
    at = app().run()
    at.switch_page("pages/import_file.py").run()
    odd = "Alpha;Beta;Gamma\nC00090;FA-1;10,00\n"
    at.file_uploader[0].set_value(("odd.csv", odd.encode(), "text/csv")).run()
    assert not at.exception
    assert at.error
    customer = next(s for s in at.selectbox if s.label == "Customer number")
    assert customer.options == ["—", "Alpha", "Beta", "Gamma"]


def test_import_can_be_cancelled(workspace):
    at = import_page(app().run())
    button(at, "Cancel").click().run()
    assert not at.exception
    assert not at.metric
    assert "import_state" not in at.session_state


# ---------------------------------------------------------------------------
# The workspace


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
    assert demo_label(at)
    assert len(at.dataframe[0].value) > 0


# ---------------------------------------------------------------------------
# Customer record: the selected items, their qualification, actions
#
# C00012's record lists its open items by due date: AV-2026-0003 (20/01/2026),
# FA-2026-0041 (31/01/2026), FA-2026-0077 (14/02/2026). The customer takes the
# import defaults: fr_legal with the indemnity on. The ECB rate in force on
# 1 Jan 2026 is 2.15 % (data/rates/ecb_mro.csv, changed 2025-06-11), so the
# rate is 2.15 + 10 = 12.15 % for days late in January-June 2026.


def record(at: AppTest, number: str = "C00012") -> AppTest:
    at.session_state["customer"] = number
    at.switch_page("pages/customer.py").run()
    assert not at.exception
    return at


def table_with(at: AppTest, column: str, without: str | None = None):
    """The first table showing this column (and not the other one)."""
    return next(
        d.value
        for d in at.dataframe
        if column in d.value.columns and (without is None or without not in d.value)
    )


def item_statuses(path: Path) -> dict[str, tuple]:
    con = store.connect(path)
    try:
        rows = con.execute(
            "SELECT doc_number, status, status_comment, status_author, promise_date "
            "FROM items"
        ).fetchall()
    finally:
        con.close()
    return {doc: tuple(rest) for doc, *rest in rows}


def test_record_shows_the_breakdown_and_the_four_totals_of_ticked_items(workspace):
    at = tick(record(app().run()), "customer_rows", 1, 2)
    assert metric(at, "In basket") == "2"
    assert any("2 item(s) of this customer" in c.value for c in at.caption)

    # FA-2026-0041 1234.56, 15 days late (1 Feb to 15 Feb):
    #   1234.56 x 0.1215 x 15 / 365 = 2249.9856 / 365 = 6.1643 -> 6.16; + 40.00
    # FA-2026-0077 12500.00, 1 day late (15 Feb):
    #   12500.00 x 0.1215 x 1 / 365 = 1518.75 / 365 = 4.1610 -> 4.16; + 40.00
    items = table_with(at, "Note", without="Hashtag")
    assert list(items["Document"]) == ["FA-2026-0041", "FA-2026-0077"]
    assert list(items["Days late"]) == [15, 1]
    assert texts_of(items["Open amount"]) == ["1 234,56 €", "12 500,00 €"]
    assert texts_of(items["Interest"]) == ["6,16 €", "4,16 €"]
    assert texts_of(items["Indemnity"]) == ["40,00 €", "40,00 €"]
    assert texts_of(items["Penalty"]) == ["46,16 €", "44,16 €"]  # 6.16+40, 4.16+40
    assert all("no dated payments" in note for note in items["Note"])
    periods = table_with(at, "Rate")
    assert list(periods["From"]) == ["01/02/2026", "15/02/2026"]
    assert list(periods["To"]) == ["15/02/2026", "15/02/2026"]
    assert list(periods["Days"]) == [15, 1]
    assert texts_of(periods["Base"]) == ["1 234,56 €", "12 500,00 €"]
    assert texts_of(periods["Rate"]) == ["12,15 %", "12,15 %"]

    # Selected 1234.56 + 12500.00 = 13734.56; penalties 46.16 + 44.16 = 90.32;
    # including them 13734.56 + 90.32 = 13824.88.
    totals = table_with(at, "Hashtag")
    by_name = dict(zip(totals["Hashtag"], totals["Prints"], strict=True))
    assert by_name == {
        "#items_amount_selected": "13 734,56 €",
        "#items_amount_selected_late_penalties": "90,32 €",
        "#items_amount_selected_include_late_penalties": "13 824,88 €",
        "#items_list_selected": "a statement of 2 item line(s) and 1 totals line(s)",
    }
    assert texts_of(totals["EUR"])[:3] == ["13 734,56 €", "90,32 €", "13 824,88 €"]
    statement = at.code[0].value
    assert "FA-2026-0041" in statement and "Total EUR" in statement
    assert "AV-2026-0003" not in statement
    # the credit note left out of the selection is named as an unapplied credit
    assert any("AV-2026-0003 -250.00 EUR" in w.value for w in at.warning)
    # the basket panel: the same penalties, per currency
    assert metric(at, "Penalties EUR") == "90,32 €"
    assert [b.label for b in at.get("download_button")] == [
        "Download the basket (CSV)",
        "Download the basket (XLSX)",
    ]


def texts_of(values) -> list[str]:
    return [spaced(v) for v in values]


def test_the_composer_opens_from_the_record_with_this_customers_items(workspace):
    # FA-2025-1198 (C00027, first by due date) joins the basket from the search
    at = tick(search_page(app().run()), "search_rows", 0)
    at = tick(record(at), "customer_rows", 1)  # and FA-2026-0041 of C00012
    assert metric(at, "In basket") == "2"
    # FA-2025-1198: 480.40 x 0.1215 x 49 / 365 = 7.8358 -> 7.84, + 40.00 = 47.84
    # FA-2026-0041: 6.16 + 40.00 = 46.16; 47.84 + 46.16 = 94.00
    assert metric(at, "Penalties EUR") == "94,00 €"
    assert any("1 more item(s) of the basket" in c.value for c in at.caption)

    button(at, "New action (outside the dunning scenario)").click().run()
    assert not [s for s in at.subheader if s.value == "Specific action"]
    button(at, "Specific action").click().run()
    assert not at.exception
    assert [s.value for s in at.subheader].count("Specific action") == 1
    assert any(
        "this action claims only the 1 of this customer" in i.value for i in at.info
    )
    # the composer's preview assesses FA-2026-0041 only
    at.text_area(key="composer_C00012_body").input("#items_amount_selected").run()
    preview = table_with(at, "Note", without="Status")
    assert list(preview["Document"]) == ["FA-2026-0041"]

    # the composer stays open for this customer only
    at.selectbox(key="customer_picker").select("C00027").run()
    assert "Specific action" not in [s.value for s in at.subheader]
    at.selectbox(key="customer_picker").select("C00012").run()
    assert "Specific action" in [s.value for s in at.subheader]
    assert at.text_area(key="composer_C00012_body").value == "#items_amount_selected"
    button(at, "Close the composer").click().run()
    assert "Specific action" not in [s.value for s in at.subheader]


def test_qualifying_two_items_asks_first_then_shows_their_status(
    workspace, monkeypatch
):
    monkeypatch.setenv("DUNNING_USER", "analyst")
    at = tick(record(app().run()), "customer_rows", 1, 2)
    at.selectbox(key="record_C00012_status").select("disputed").run()
    at.text_input(key="record_C00012_comment").input("Delivery contested").run()
    button(at, "Apply to 2 item(s)").click().run()
    assert any("Apply 'Disputed' to 2 items?" in w.value for w in at.warning)
    assert item_statuses(workspace)["FA-2026-0041"][0] == "open"  # not yet

    button(at, "Yes, apply to 2 items").click().run()
    assert not at.exception
    assert any("Disputed: 2 item(s) qualified." in s.value for s in at.success)
    statuses = item_statuses(workspace)
    for doc in ("FA-2026-0041", "FA-2026-0077"):
        assert statuses[doc] == ("disputed", "Delivery contested", "analyst", None)
    assert statuses["AV-2026-0003"][0] == "open"
    assert list(record_items(at)["Status"]) == ["Open", "Disputed", "Disputed"]

    # disputed items bear no penalty unless included: 0.00, then 90.32 again
    items = table_with(at, "Note", without="Hashtag")
    assert all(n == "disputed: excluded from penalties" for n in items["Note"])
    assert any("FA-2026-0041 is disputed" in w.value for w in at.warning)
    totals = table_with(at, "Hashtag")
    assert spaced(totals["Prints"][1]) == "0,00 €"
    at.toggle(key="record_C00012_include_disputed").set_value(True).run()
    assert spaced(table_with(at, "Hashtag")["Prints"][1]) == "90,32 €"


def test_a_promise_to_pay_on_one_item_needs_its_date_and_asks_nothing(workspace):
    at = tick(record(app().run()), "customer_rows", 1)
    at.selectbox(key="record_C00012_status").select("promised").run()
    button(at, "Apply to 1 item(s)").click().run()
    assert any("needs the date" in e.value for e in at.error)
    at.date_input(key="record_C00012_promise_date").set_value(dt.date(2026, 3, 1))
    button(at, "Apply to 1 item(s)").click().run()
    assert any("Promise to pay: 1 item(s)" in s.value for s in at.success)
    promised = item_statuses(workspace)["FA-2026-0041"]
    assert (promised[0], promised[3]) == ("promised", dt.date(2026, 3, 1))
    assert list(record_items(at)["Status"])[1] == "Promise to pay"


def test_the_history_opens_an_action_in_one_click(workspace):
    con = store.connect(workspace)
    try:
        ids = penalties.item_ids(con, "C00012", ["FA-2026-0041", "FA-2026-0077"])
        action_id = actions.create(
            con,
            "C00012",
            ids,
            type="letter",
            subject="Relance",
            body="Merci de régler #items_amount_selected.",
            planned_for="2026-02-20",
        )
    finally:
        con.close()
    at = record(app().run())
    listed = next(d for d in at.dataframe if d.key == "customer_actions_C00012")
    assert list(listed.value["Action"]) == [action_id]
    at.session_state["customer_actions_C00012"] = {"selection": {"rows": [0]}}
    at.run()
    assert not at.exception
    assert f"Action #{action_id} — Letter — Planned" in [h.value for h in at.subheader]
    claimed = table_with(at, "Open amount then")
    assert list(claimed["Document"]) == ["FA-2026-0041", "FA-2026-0077"]
    assert texts_of(claimed["Open amount then"]) == ["1 234,56 €", "12 500,00 €"]
    # the penalties then: 6.16 + 40.00 and 4.16 + 40.00 (worked out above)
    assert texts_of(claimed["Penalty then"]) == ["46,16 €", "44,16 €"]


# ---------------------------------------------------------------------------
# Showing values and problems as written


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Markdown would make 'mro' bold: the underscores are escaped.
        ("attribute '__mro__' refused", r"attribute '\_\_mro\_\_' refused"),
        # Underscores inside a word emphasise nothing: left as they are.
        ("Did you mean #items_amount_selected", "Did you mean #items_amount_selected"),
        ("US$1.00 + US$2.00", r"US\$1.00 + US\$2.00"),  # no LaTeX formula
        ("a *b* [c](d) `e` ~f~", r"a \*b\* \[c\](d) \`e\` \~f\~"),
        (":smile: :red[x] 14:30 http://x", r"\:smile: \:red\[x\] 14:30 http://x"),
        ("Lefèvre & Fils <b>", r"Lefèvre \& Fils \<b\>"),
        ("# title\n- item\n1. one", "\\# title\n\\- item\n1\\. one"),  # line starts
        ("AV-2026-0003 -250.00 EUR", "AV-2026-0003 -250.00 EUR"),  # mid-line: kept
    ],
)
def test_message_text_escapes_only_what_markdown_reads(text, expected):
    from pages import common

    assert common.message_text(text) == expected


def test_a_credit_note_has_no_days_late_in_the_breakdown(workspace):
    # AV-2026-0003 (first by due date) and FA-2026-0041, 15 days late.
    at = tick(record(app().run()), "customer_rows", 0, 1)
    items = table_with(at, "Note", without="Hashtag")
    assert list(items["Document"]) == ["AV-2026-0003", "FA-2026-0041"]
    assert items["Days late"].isna().tolist() == [True, False]
    assert items["Days late"].iloc[1] == 15
    # Every table of the record shows a missing value as a blank cell, not "None".
    blank = [
        d.proto.HasField("placeholder") and d.proto.placeholder == ""
        for d in at.dataframe
    ]
    assert blank and all(blank)
    assert not any("None" in str(v) for d in at.dataframe for v in d.value.values.flat)


def test_the_basket_panel_speaks_the_workspace_language(workspace):
    # C00012 reads English; the basket holds every customer's items (the others
    # French): the panel in the workspace's language (fr), the record in English.
    con = store.connect(workspace)
    customers.update(con, "C00012", {"language": "en"})
    con.close()
    at = search_page(app().run())
    button(at, "Select all matches").click().run()
    at = record(at)
    assert metric(at, "Basket EUR") == "16 010,06 €"  # every item of the ledger
    # 46.16 (FA-2026-0041) + 44.16 (FA-2026-0077) + 47.84 (FA-2025-1198) = 138.16
    assert metric(at, "Penalties EUR") == "138,16 €"
    assert metric(at, "Balance EUR") == "€13,484.56"  # the customer's own figures
    assert metric(at, "Matching EUR") == "€13,484.56"


def test_composer_preview_shows_template_problems_as_written(workspace):
    at = tick(record(app().run()), "customer_rows", 1)
    button(at, "New action (outside the dunning scenario)").click().run()
    button(at, "Specific action").click().run()
    at.text_area(key="composer_C00012_body").input("{{ ''.__class__.__mro__ }}").run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any(r"the attribute '\_\_mro\_\_' is not allowed" in e for e in errors)
    assert not any("'__mro__'" in e for e in errors)

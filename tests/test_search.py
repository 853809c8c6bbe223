"""Search: filters compiled to bound SQL, results on a real workspace, expert SQL."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from decimal import Decimal
from pathlib import Path

import pytest

from dunning import Workspace, actions, exporting, importing, search, store
from dunning.errors import InvalidValue, NotFound

AS_OF = dt.date(2026, 2, 15)


@pytest.mark.parametrize(
    ("filters", "sql", "params"),
    [
        (search.Filters(), "true", {}),
        (
            search.Filters(min_days_late=30),
            "days_late >= $min_days_late",
            {"min_days_late": 30},
        ),
        (
            search.Filters(customer=["C1"]),
            "customer_number = ANY($customers)",
            {"customers": ["C1"]},
        ),
        (
            search.Filters(min_amount="1 000,50"),
            "open_amount >= $min_amount",
            {"min_amount": Decimal("1000.50")},
        ),
        (
            search.Filters(text="50%_o'brien"),
            "(doc_number ILIKE $text ESCAPE '\\' OR reference ILIKE $text "
            "ESCAPE '\\' OR customer_name ILIKE $text ESCAPE '\\')",
            {"text": "%50\\%\\_o'brien%"},  # wildcards typed by a user are literal
        ),
        (
            search.Filters(doc_type=["invoice"], max_days_late=10),
            "doc_type = ANY($doc_types) AND days_late <= $max_days_late",
            {"doc_types": ["invoice"], "max_days_late": 10},
        ),
        (
            search.Filters(action_since=dt.date(2026, 2, 1)),
            "item_id IN ("
            "\n    SELECT ai.item_id FROM action_items ai JOIN actions a USING "
            "(action_id)\n    WHERE a.status <> 'cancelled'\n      AND "
            "coalesce(a.executed_at, a.created_at)::DATE >= $action_since)",
            {"action_since": dt.date(2026, 2, 1)},
        ),
    ],
)
def test_filters_compile_to_bound_parameters(filters, sql, params):
    assert search.to_sql(filters) == (sql, params)


@pytest.fixture
def ws(tmp_path, data_file):
    workspace = Workspace.open(tmp_path / "s.duckdb")
    importing.import_file(workspace.con, data_file("echeancier_clients_cp1252.csv"))
    yield workspace
    workspace.close()


@pytest.mark.parametrize(
    ("filters", "docs", "total"),
    [
        # 49, 15 and 1 days late; the credit note is never late
        (
            {"min_days_late": 1},
            {"FA-2025-1198", "FA-2026-0041", "FA-2026-0077"},
            "14214.96",
        ),  # 480.40 + 1234.56 + 12500.00
        ({"min_days_late": 30}, {"FA-2025-1198"}, "480.40"),
        ({"text": "MAINTENANCE"}, {"FA-2025-1198"}, "480.40"),
        ({"min_amount": "2000"}, {"FA-2026-0077", "FA-2026-0102"}, "14545.10"),
        ({"doc_type": "credit_note"}, {"AV-2026-0003"}, "-250.00"),
        (
            {"where": "open_amount > 2000 AND due_date > DATE '2026-03-01'"},
            {"FA-2026-0102"},
            "2045.10",
        ),
        (
            {"customer": "C00012", "max_amount": "1500"},
            {"FA-2026-0041", "AV-2026-0003"},
            "984.56",
        ),  # 1234.56 - 250.00
    ],
)
def test_search_counts_and_totals_every_match(ws, filters, docs, total):
    found = ws.search(as_of=AS_OF, **filters)
    assert {row["doc_number"] for row in found.rows} == docs
    assert found.count == len(docs)
    assert found.totals == {"EUR": Decimal(total)}


def test_page_is_limited_but_count_covers_all(ws):
    found = ws.search(as_of=AS_OF, limit=2, sort="open_amount", descending=True)
    assert found.count == 5
    assert list(found.items["doc_number"]) == ["FA-2026-0077", "FA-2026-0102"]


@pytest.mark.parametrize(
    ("sort", "descending", "docs"),
    [
        # due dates 28 Dec, 20 Jan, 31 Jan, 14 Feb, 5 Mar
        (
            "due_date",
            False,
            [
                "FA-2025-1198",
                "AV-2026-0003",
                "FA-2026-0041",
                "FA-2026-0077",
                "FA-2026-0102",
            ],
        ),
        # 49, 15, 1 days late, then two at 0 in item order (the file's lines)
        (
            "days_late",
            True,
            [
                "FA-2025-1198",
                "FA-2026-0041",
                "FA-2026-0077",
                "AV-2026-0003",
                "FA-2026-0102",
            ],
        ),
        # Boulangerie (three items), Coeur de Lion, Societe Generale
        (
            "customer_name",
            False,
            [
                "FA-2026-0041",
                "FA-2026-0077",
                "AV-2026-0003",
                "FA-2026-0102",
                "FA-2025-1198",
            ],
        ),
        # 12500.00, 2045.10, 1234.56, 480.40, -250.00
        (
            "open_amount",
            True,
            [
                "FA-2026-0077",
                "FA-2026-0102",
                "FA-2026-0041",
                "FA-2025-1198",
                "AV-2026-0003",
            ],
        ),
    ],
)
def test_pages_of_two_follow_the_sort_order(ws, sort, descending, docs):
    pages = [
        ws.search(as_of=AS_OF, sort=sort, descending=descending, limit=2, offset=at)
        for at in (0, 2, 4, 6)
    ]
    assert [len(page.rows) for page in pages] == [2, 2, 1, 0]
    assert [doc for page in pages for doc in page.items["doc_number"]] == docs
    assert {page.count for page in pages} == {5}
    assert {str(page.totals["EUR"]) for page in pages} == {"16010.06"}


@pytest.mark.parametrize(
    "expression",
    [
        "1=1; DROP TABLE items",
        "(SELECT count(*) FROM items) > 0",
        "customer_number IN (SELECT customer_number FROM customers)",
        "EXISTS (SELECT 1 FROM settings)",
        "read_csv('/etc/passwd') IS NOT NULL",
        "getenv('HOME') = 'x'",
        "current_setting('threads') = 1",
        "secret_column > 1",
        "items.open_amount > 1",
        "open_amount > 1) OR (1=1",
        "length(read_text('/etc/hostname')) > 0",
        "open_amount > 1 UNION SELECT * FROM items",
    ],
)
def test_hostile_expressions_are_refused_and_change_nothing(ws, expression):
    before = ws.con.execute("SELECT count(*), sum(open_amount) FROM items").fetchone()
    with pytest.raises(InvalidValue):
        ws.search(as_of=AS_OF, where=expression)
    after = ws.con.execute("SELECT count(*), sum(open_amount) FROM items").fetchone()
    assert after == before


# Hostile expert expressions, each refused by the checker before anything runs.
# `{dir}` is the workspace's folder, so a file written there would be seen.
HOSTILE = {
    # second statements
    "drop after a condition": "1=1; DROP TABLE items",
    "delete after true": "true; DELETE FROM items",
    "trailing semicolon": "open_amount > 0;",
    "attach after a condition": "open_amount > 0; ATTACH '{dir}/evil.duckdb' AS evil",
    "copy after a condition": "open_amount > 0; COPY items TO '{dir}/stolen.csv'",
    "install and load": "open_amount > 0; INSTALL httpfs; LOAD httpfs",
    "set a setting": "open_amount > 0; SET enable_external_access = true",
    "update in a string's wake": "status = 'x'; UPDATE settings SET value = 'x'",
    # set operations
    "union": "open_amount > 1 UNION SELECT * FROM items",
    "union all": "true UNION ALL SELECT 1",
    "union out of the parentheses": (
        "open_amount > 1) UNION ALL SELECT * FROM customers WHERE (true"
    ),
    "except": "open_amount > 1 EXCEPT SELECT * FROM items",
    "intersect": "true) INTERSECT (SELECT 1",
    # subqueries in every position
    "scalar subquery on the left": "(SELECT count(*) FROM items) > 0",
    "scalar subquery on the right": "open_amount > (SELECT max(amount) FROM items)",
    "in subquery": "customer_number IN (SELECT customer_number FROM customers)",
    "not in subquery": "customer_number NOT IN (SELECT name FROM customers)",
    "any subquery": "open_amount = ANY (SELECT open_amount FROM items)",
    "all subquery": "open_amount > ALL (SELECT 1)",
    "exists": "EXISTS (SELECT 1 FROM settings)",
    "not exists": "NOT EXISTS (SELECT 1 FROM settings)",
    "function argument": "abs((SELECT 1)) = 1",
    "coalesce argument": "coalesce((SELECT value FROM settings LIMIT 1), 'x') = 'x'",
    "case condition": "CASE WHEN (SELECT true) THEN true ELSE false END",
    "case result": "CASE WHEN true THEN (SELECT true) ELSE false END",
    "case else": "CASE WHEN false THEN true ELSE (SELECT true) END",
    "between bound": "open_amount BETWEEN (SELECT 0) AND 10",
    "cast operand": "CAST((SELECT 1) AS INTEGER) = 1",
    "like pattern": "reference LIKE (SELECT value FROM settings LIMIT 1)",
    "like escape": "reference LIKE 'x' ESCAPE (SELECT '!')",
    "in list element": "currency IN ('EUR', (SELECT 'USD'))",
    "common table expression": "open_amount < (WITH t AS (SELECT 1 AS v) FROM t)",
    "from first": "EXISTS (FROM customers)",
    "table statement": "(TABLE settings) IS NULL",
    "values": "(VALUES (1)) = 1",
    "nested in a conjunction": "NOT (open_amount > 0 AND EXISTS (SELECT 1))",
    "describe": "(DESCRIBE items) IS NULL",
    "show tables": "(SHOW TABLES) IS NULL",
    "summarize": "(SUMMARIZE items) IS NULL",
    "pivot": "(PIVOT items ON currency) IS NULL",
    # table functions, files
    "read_csv": "read_csv('/etc/passwd') IS NOT NULL",
    "read_csv_auto": "read_csv_auto('/etc/passwd') IS NOT NULL",
    "read_csv in a subquery": "EXISTS (FROM read_csv('/etc/passwd'))",
    "read_parquet": "read_parquet('{dir}/x.parquet') IS NOT NULL",
    "read_parquet in a subquery": "EXISTS (SELECT * FROM read_parquet('x.parquet'))",
    "read_json": "read_json('/etc/x.json') IS NOT NULL",
    "glob": "glob('/etc/*') IS NOT NULL",
    "glob in a subquery": "EXISTS (FROM glob('/etc/*'))",
    "read_text": "length(read_text('/etc/hostname')) > 0",
    "read_text in a subquery": "EXISTS (FROM read_text('/etc/hostname'))",
    "read_blob": "read_blob('/etc/hostname') IS NOT NULL",
    "replacement scan of a file": "EXISTS (FROM '/etc/passwd')",
    # environment and settings
    "getenv": "getenv('HOME') = 'x'",
    "current_setting": "current_setting('threads') = 1",
    "home directory setting": "current_setting('home_directory') = ''",
    "duckdb_settings": "duckdb_settings() IS NOT NULL",
    "duckdb_settings in a subquery": "EXISTS (FROM duckdb_settings())",
    "duckdb_secrets": "EXISTS (FROM duckdb_secrets())",
    "getvariable": "getvariable('x') IS NULL",
    "version": "version() = 'x'",
    "current_database": "current_database() = 'x'",
    # pragmas
    "pragma statement": "PRAGMA version",
    "pragma function": "pragma_version() IS NULL",
    "pragma table function": "EXISTS (FROM pragma_table_info('items'))",
    "pragma database list": "EXISTS (FROM pragma_database_list)",
    # attach, copy, install, load; types and collations that load extensions
    "attach": "ATTACH '{dir}/evil.duckdb'",  # parses as a cast to a type "ATTACH"
    "attach as": "ATTACH '{dir}/evil.duckdb' AS evil",
    "copy": "COPY items TO '{dir}/stolen.csv'",
    "export database": "EXPORT DATABASE '{dir}/dump'",
    "install": "INSTALL httpfs",
    "force install": "FORCE INSTALL httpfs",
    "load": "LOAD httpfs",
    "cast to an extension type": "'1.1.1.1'::INET IS NOT NULL",
    "typed literal of an extension type": "INET '1.1.1.1' IS NOT NULL",
    "cast to geometry": "CAST(reference AS GEOMETRY) IS NULL",
    "cast to json": "open_amount::JSON IS NOT NULL",
    "cast to a workspace type": "reference::main.secret_type IS NULL",
    "cast to a list": "reference::VARCHAR[] IS NOT NULL",
    "collation": "reference COLLATE de = 'x'",
    # lambdas
    "arrow lambda": "list_filter([1, 2], x -> x > 1) = [2]",
    "arrow lambda in an allowed function": "coalesce(x -> x, 1) = 1",
    "python-style lambda": "list_transform([open_amount], lambda x: x + 1) IS NULL",
    # query functions
    "query": "query('SELECT * FROM settings') IS NOT NULL",
    "query in a subquery": "EXISTS (FROM query('SELECT * FROM settings'))",
    "query_table": "query_table('settings') IS NOT NULL",
    "query_table in a subquery": "EXISTS (FROM query_table('settings'))",
    # window functions and aggregates
    "window sum": "sum(open_amount) OVER () > 0",
    "row_number": "row_number() OVER (ORDER BY due_date) < 10",
    "lag": "lag(open_amount) OVER (PARTITION BY customer_number) > 0",
    "sum": "sum(open_amount) > 0",
    "count star": "count(*) > 0",
    "max": "max(open_amount) > 0",
    "string_agg": "string_agg(doc_number, ',') IS NULL",
    "aggregate with a filter": "sum(open_amount) FILTER (WHERE true) > 0",
    "ordered aggregate": "list(doc_number ORDER BY due_date) IS NOT NULL",
    "allowed function with order by": "abs(open_amount ORDER BY due_date) > 0",
    # parameters
    "positional parameter": "open_amount > $1",
    "question mark": "open_amount > ?",
    "named parameter of the search": "due_date < $as_of",
    "named parameter of a filter": "days_late > $min_days_late",
    # comments
    "comment hiding a semicolon": "open_amount > 1 /* ; DROP TABLE items */",
    "line comment hiding a semicolon": "open_amount > 1 -- ; DROP TABLE items",
    "semicolon after a line comment": "open_amount > 1 --\n; DROP TABLE items",
    "comment hiding a parenthesis": "/* ( */ open_amount > 1) --",
    "comment hiding the closing parenthesis": "open_amount > 1 /* ) OR (true */",
    "unterminated comment": "open_amount > 1 /*",
    # other tables, columns, functions
    "unknown column": "secret_column > 1",
    "qualified column": "items.open_amount > 1",
    "schema-qualified column": "main.items.open_amount > 1",
    "column of another table": "settings.value = 'x'",
    "schema-qualified function": "main.abs(open_amount) > 1",
    "catalog-qualified function": "system.main.abs(1) = 1",
    "columns star": "COLUMNS('.*') IS NOT NULL",
    "star": "* IS NOT NULL",
    "positional column": "#1 > 0",
    "sequence": "nextval('contact_ids') > 0",
    "random seed": "setseed(0.5) IS NULL",
    "sleep": "sleep_ms(10000) IS NULL",
    "error function": "error('boom') IS NULL",
    "list literal": "[1, 2] IS NOT NULL",
    "struct literal": "{'a': 1} IS NOT NULL",
    "unbalanced parentheses": "open_amount > 1) OR (1=1",
}


@pytest.fixture(scope="module")
def shared_ws(tmp_path_factory):
    """One workspace for the whole hostile list; each test checks it is unchanged."""
    folder = tmp_path_factory.mktemp("hostile")
    source = Path(__file__).parent / "data" / "echeancier_clients_cp1252.csv"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DUNNING_TODAY", AS_OF.isoformat())
        workspace = Workspace.open(folder / "s.duckdb")
        importing.import_file(workspace.con, shutil.copy(source, folder))
    yield workspace
    workspace.close()


def workspace_state(ws) -> tuple:
    """Everything an expression could change: data, catalog, settings, files."""
    con = ws.con
    return (
        con.execute(
            "SELECT count(*), sum(open_amount), max(item_id) FROM items"
        ).fetchone(),
        con.execute(
            "SELECT database_name, schema_name, table_name FROM duckdb_tables() "
            "ORDER BY ALL"
        ).fetchall(),
        con.execute(
            "SELECT database_name FROM duckdb_databases() ORDER BY 1"
        ).fetchall(),
        con.execute("SELECT * FROM settings ORDER BY key").fetchall(),
        con.execute(
            "SELECT extension_name FROM duckdb_extensions() WHERE loaded ORDER BY 1"
        ).fetchall(),
        sorted(path.name for path in ws.path.parent.iterdir()),
    )


@pytest.mark.parametrize("expression", list(HOSTILE.values()), ids=list(HOSTILE))
def test_long_list_of_hostile_expressions_all_refused(shared_ws, expression):
    ws = shared_ws
    expression = expression.replace("{dir}", str(ws.path.parent))
    before = workspace_state(ws)
    with pytest.raises(InvalidValue):
        search.check_expression(expression)  # refused before anything runs
    with pytest.raises(InvalidValue):
        ws.search(as_of=AS_OF, where=expression)
    with pytest.raises(InvalidValue):
        search.item_ids(ws.con, search.Filters(where=expression), AS_OF)
    assert workspace_state(ws) == before


@pytest.mark.parametrize(
    ("expression", "docs"),
    [
        ("reference ILIKE '%;%'", {"FA-2026-0102"}),  # ';' inside a string is text
        ("reference ILIKE '%--%' OR reference = '/*'", set()),  # so are comment marks
        ("$$Cœur de Lion SARL$$ = customer_name", {"FA-2026-0102"}),
        ("customer_name = 'Société Générale d''Équipement Rhône'", {"FA-2025-1198"}),
        # due + 30 days before 15 Feb: due before 16 Jan, only 28 Dec
        ("due_date + INTERVAL 30 DAY < DATE '2026-02-15'", {"FA-2025-1198"}),
        (
            "doc_type = 'credit_note' OR days_late BETWEEN 10 AND 20",
            {"AV-2026-0003", "FA-2026-0041"},
        ),
        ("TRY_CAST(substr(doc_number, 4, 4) AS INTEGER) = 2025", {"FA-2025-1198"}),
        ("CAST(open_amount AS DECIMAL(18, 2)) > 10000", {"FA-2026-0077"}),
        (
            "CASE WHEN currency = 'EUR' THEN open_amount ELSE 0 END < 0",
            {"AV-2026-0003"},
        ),
        ("\"open_amount\" > 2000 AND NOT (doc_number LIKE '%77')", {"FA-2026-0102"}),
    ],
)
def test_allowed_expressions_find_what_they_say(ws, expression, docs):
    found = ws.search(as_of=AS_OF, where=expression)
    assert {row["doc_number"] for row in found.rows} == docs


def test_what_runs_is_the_checked_tree_printed_back():
    where = "days_late > 45 AND reference ILIKE '%maint%'"
    assert search.to_sql(search.Filters(where=where)) == (
        "(((days_late > 45) AND (reference ~~* '%maint%')))",
        {},
    )
    assert search.check_expression("E'it\\'s' = reference") == "('it''s' = reference)"


def test_a_slow_expression_is_interrupted_and_changes_nothing(con, monkeypatch):
    # a million items of one customer, generated in the workspace itself
    con.execute(
        "INSERT INTO customers (customer_number, name, language, currency, "
        "payment_terms_days, penalty_rule, indemnity_enabled) "
        "VALUES ('C1', 'Grand compte', 'fr', 'EUR', 30, 'fr_legal', true)"
    )
    con.execute(
        "INSERT INTO items (item_id, customer_number, doc_type, doc_number, "
        "issue_date, due_date, amount, open_amount, currency, reference) "
        "SELECT i, 'C1', 'invoice', 'FA-' || i, DATE '2025-01-01', DATE '2025-02-01', "
        "100.00, 100.00, 'EUR', 'Prestation ' || i FROM range(1, 1000001) r(i)"
    )
    before = con.execute("SELECT count(*), sum(open_amount) FROM items").fetchone()
    assert before == (1_000_000, Decimal("100000000.00"))  # 1,000,000 x 100.00
    slow = (
        "regexp_matches(lower(reference || customer_name || doc_number || reference), "
        "'(a|e|i|o|u)+[0-9]+z$') AND length(replace(reference, 'e', 'ee')) > 3"
    )
    monkeypatch.setattr(search, "EXPERT_TIME_LIMIT_S", 0.02)
    with pytest.raises(InvalidValue, match=r"took longer than 0\.02 s"):
        search.run(con, search.Filters(where=slow), AS_OF)
    with pytest.raises(InvalidValue, match=r"took longer than 0\.02 s"):
        search.item_ids(con, search.Filters(where=slow), AS_OF)
    assert con.execute("SELECT count(*), sum(open_amount) FROM items").fetchone() == (
        before
    )
    monkeypatch.setattr(search, "EXPERT_TIME_LIMIT_S", 60.0)
    quick = search.run(con, search.Filters(where="doc_number = 'FA-7'"), AS_OF)
    assert (quick.count, quick.totals) == (1, {"EUR": Decimal("100.00")})


# ---------------------------------------------------------------------------
# Saved searches

EVERY_FILTER = search.Filters(
    customer=["C00012", "C00027"],
    customer_text="Boulangerie",
    segment=["PME"],
    account_manager=["Claire"],
    doc_type=["invoice", "credit_note"],
    status=["open", "promised"],
    currency=["EUR"],
    min_days_late=30,
    max_days_late=90,
    min_amount=Decimal("1000.50"),
    max_amount=Decimal("-0.01"),
    issue_from=dt.date(2025, 1, 1),
    issue_to=dt.date(2025, 12, 31),
    due_from=dt.date(2025, 2, 1),
    due_to=dt.date(2026, 1, 31),
    bucket=["d31_60", "d61_90"],
    text="50%_o'brien",
    where="days_late > 45 AND reference ILIKE '%maint%'",
    action_since=dt.date(2026, 1, 1),
    no_action_since=dt.date(2026, 2, 1),
)


def test_filters_round_trip_through_json_exactly():
    text = search.to_json(EVERY_FILTER)
    assert '"min_amount": "1000.50"' in text  # amounts as decimal text
    assert '"max_amount": "-0.01"' in text
    assert '"issue_from": "2025-01-01"' in text  # dates as ISO text
    back = search.from_json(text)
    assert back == EVERY_FILTER
    assert isinstance(back.min_amount, Decimal) and isinstance(back.due_to, dt.date)
    assert search.from_json(search.to_json(search.Filters())) == search.Filters()


def test_saving_types_what_a_user_typed():
    typed = search.Filters(min_amount="1 000,50", due_from="2026-01-31", customer="C1")
    back = search.from_json(search.to_json(typed))
    assert (back.min_amount, back.due_from, back.customer) == (
        Decimal("1000.50"),
        dt.date(2026, 1, 31),
        ["C1"],
    )


def test_save_rerun_list_and_delete(ws, tmp_path):
    late = search.Filters(min_days_late=30, text="maint")
    search.save(ws.con, "Over 30 days, maintenance", late)
    search.save(ws.con, "Credits", search.Filters(doc_type=["credit_note"]))
    assert [s.name for s in search.saved(ws.con)] == [
        "Credits",
        "Over 30 days, maintenance",
    ]
    assert search.saved(ws.con)[1].description == (
        "at least 30 days late; text contains 'maint'"
    )
    rerun = search.run(ws.con, search.load(ws.con, "Over 30 days, maintenance"), AS_OF)
    assert (rerun.count, rerun.totals) == (1, {"EUR": Decimal("480.40")})

    # saving under a name again replaces the filters and the time
    first = search.load_saved(ws.con, "Credits")
    again = search.save(ws.con, " Credits ", search.Filters(max_amount=Decimal("0")))
    assert again.filters == search.Filters(max_amount=Decimal("0"))
    assert again.saved_at >= first.saved_at
    assert len(search.saved(ws.con)) == 2

    search.delete(ws.con, "Credits")
    assert [s.name for s in search.saved(ws.con)] == ["Over 30 days, maintenance"]

    # stored in the workspace: still there after reopening
    ws.close()
    reopened = Workspace.open(ws.path)
    try:
        assert search.load(reopened.con, "Over 30 days, maintenance") == late
    finally:
        reopened.close()
        ws.con = store.connect(ws.path)


def test_unknown_saved_search_lists_the_saved_names(ws):
    with pytest.raises(NotFound, match="no search is saved yet"):
        search.load(ws.con, "Late")
    search.save(ws.con, "Credits", search.Filters(doc_type=["credit_note"]))
    search.save(ws.con, "Big", search.Filters(min_amount=Decimal("10000")))
    with pytest.raises(NotFound, match="saved searches: 'Big', 'Credits'"):
        search.load(ws.con, "Late")
    with pytest.raises(NotFound, match="No saved search is named 'Late'"):
        search.delete(ws.con, "Late")


@pytest.mark.parametrize(
    ("name", "filters", "message"),
    [
        ("", search.Filters(), "Give the search a name"),
        ("x" * 81, search.Filters(), "at most 80"),
        ("two\nlines", search.Filters(), "line break"),
        ("bad", search.Filters(where="EXISTS (FROM settings)"), "subquery"),
        ("bad", search.Filters(status=["paid"]), "Unknown status"),
        ("bad", search.Filters(min_amount="abc"), "not a number"),
        ("bad", search.Filters(min_days_late="soon"), "whole number"),
        ("bad", search.Filters(due_to="31/01/2026"), "YYYY-MM-DD"),
    ],
)
def test_a_search_that_cannot_run_is_not_saved(ws, name, filters, message):
    with pytest.raises(InvalidValue, match=message):
        search.save(ws.con, name, filters)
    assert search.saved(ws.con) == []


def test_a_workspace_from_before_saved_searches_gains_them(tmp_path, monkeypatch):
    path = tmp_path / "old.duckdb"
    with monkeypatch.context() as release_one:  # a workspace made by schema 1 only
        release_one.setattr(store, "MIGRATIONS", store.MIGRATIONS[:1])
        release_one.setattr(store, "LATEST_VERSION", 1)
        store.connect(path).close()
    con = store.connect(path)
    try:
        assert store.schema_version(con) == store.LATEST_VERSION
        search.save(con, "All", search.Filters())
        assert search.load(con, "All") == search.Filters()
    finally:
        con.close()


@pytest.mark.parametrize(
    ("filters", "words"),
    [
        (search.Filters(), "all open items"),
        (search.Filters(customer=["C00012", "C00027"]), "customer C00012, C00027"),
        (
            search.Filters(customer_text=" Boulangerie "),
            "customer number or name contains 'Boulangerie'",
        ),
        (search.Filters(segment=["PME"]), "segment PME"),
        (search.Filters(account_manager=["Claire"]), "account manager Claire"),
        (search.Filters(doc_type=["credit_note"]), "type credit_note"),
        (search.Filters(status=["open", "promised"]), "status open, promised"),
        (search.Filters(currency=["EUR", "USD"]), "currency EUR, USD"),
        (
            search.Filters(issue_from=dt.date(2025, 1, 1)),
            "issued from 2025-01-01",
        ),
        (
            search.Filters(
                issue_from=dt.date(2025, 1, 1), issue_to=dt.date(2025, 12, 31)
            ),
            "issued from 2025-01-01 to 2025-12-31",
        ),
        (search.Filters(due_to=dt.date(2026, 1, 31)), "due until 2026-01-31"),
        (
            search.Filters(min_days_late=30, max_days_late=90),
            "at least 30 days late; at most 90 days late",
        ),
        (
            search.Filters(bucket=["d31_60", "credits"]),
            "aging 31-60 days, Unapplied credits",
        ),
        (
            search.Filters(min_amount=Decimal("1000.50"), max_amount=Decimal("0")),
            "open amount >= 1000.50; open amount <= 0",
        ),
        (search.Filters(text="maint"), "text contains 'maint'"),
        (search.Filters(where="days_late > 45"), "where days_late > 45"),
        (search.Filters(min_days_late=1), "at least 1 day late"),
        (
            search.Filters(action_since=dt.date(2026, 2, 1)),
            "had an action since 2026-02-01",
        ),
        (
            search.Filters(no_action_since=dt.date(2026, 2, 1)),
            "no action since 2026-02-01",
        ),
    ],
)
def test_describe_names_every_filter(filters, words):
    assert search.describe(filters) == words


def test_describe_covers_every_field_of_the_filters():
    # 20 fields; each date range (from, to) is one phrase: 18 phrases, 17 "; "
    assert search.describe(EVERY_FILTER).count("; ") == 17


def test_page_rows_carry_their_aging_bucket(ws):
    found = search.run(ws.con, search.Filters(), AS_OF, sort="doc_number")
    # AV-2026-0003 is a credit; 1198 is 49 days late, 0041 15, 0077 1, 0102 not due
    assert [(row["doc_number"], row["bucket"]) for row in found.rows] == [
        ("AV-2026-0003", "credits"),
        ("FA-2025-1198", "d31_60"),
        ("FA-2026-0041", "d1_30"),
        ("FA-2026-0077", "d1_30"),
        ("FA-2026-0102", "not_due"),
    ]
    assert "bucket" not in found.items.columns  # the notebook frame is unchanged


def test_search_file_exports_every_match_not_only_a_page(ws):
    late = search.Filters(min_days_late=1)  # 49, 15 and 1 days late
    data = exporting.search_file(ws.con, late, AS_OF, ".csv", sort="days_late")
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("customer_number,customer_name,doc_number")
    assert [line.split(",")[2] for line in lines[1:]] == [
        "FA-2026-0077",
        "FA-2026-0041",
        "FA-2025-1198",
    ]
    assert exporting.search_file(ws.con, late, AS_OF, ".XLSX")[:2] == b"PK"  # a zip
    with pytest.raises(InvalidValue, match=r"use \.csv or \.xlsx"):
        exporting.search_file(ws.con, late, AS_OF, ".ods")


def _nested_replace(depth: int) -> str:
    expression = "reference"
    for _ in range(depth):
        expression = f"replace({expression}, '0', '0000000000')"
    return expression


@pytest.mark.parametrize("depth", [6, 7])
def test_a_text_growing_expression_returns_within_the_limit(ws, depth):
    """A bound on a hostile input: each replace makes every '0' ten zeros, so six
    nested make a text 10**6 times longer (a reference holding 4 zeros becomes
    4,000,000 zeros in one function call, which DuckDB cannot interrupt: 11.7 s on
    the demo before, 16.7 s with seven). It must come back within limit + 2 s."""
    started = time.monotonic()
    with pytest.raises(InvalidValue, match=f"{10**depth:,} times longer"):
        ws.search(as_of=AS_OF, where=f"{_nested_replace(depth)} <> ''")
    assert time.monotonic() - started < search.EXPERT_TIME_LIMIT_S + 2


@pytest.mark.parametrize(
    ("expression", "growth"),
    [
        ("reference <> ''", 1),
        ("replace(reference, '0', '00') <> ''", 2),  # 2 / 1
        ("replace(reference, 'ab', 'abc') <> ''", 2),  # 3 / 2, rounded up
        ("replace(replace(reference, '-', ''), ' ', '') = 'FA2026'", 1),  # shrinks
        (f"length({_nested_replace(3)}) > 0", 1000),  # 10 x 10 x 10: allowed
        (f"length({_nested_replace(4)}) > 0", 10_000),  # refused
        ("replace(reference, '0', customer_name) <> ''", 100),  # a column: 100
        (
            "replace(replace(reference, '0', customer_name), 'a', doc_number) <> ''",
            10_000,
        ),
        ("lower(replace(reference, '0', '000')) || reference <> ''", 3),
    ],
)
def test_text_growth_of_an_expression(expression, growth):
    if growth <= search.MAX_TEXT_GROWTH:
        search.check_expression(expression)
    else:
        with pytest.raises(InvalidValue, match=f"{growth:,} times longer"):
            search.check_expression(expression)


def test_no_allowed_function_builds_a_text_of_any_length():
    # their output length is a number given in the expression, not bounded by it
    assert not {"repeat", "lpad", "rpad", "printf", "format"} & search.FUNCTIONS


def test_the_interruption_lands_within_a_second_of_the_limit(con, monkeypatch):
    """A bound on a hostile input: the largest growth allowed (1000x) over 200,000
    items takes about 4 s here; with a 0.5 s limit the search must stop by 1.5 s."""
    con.execute(
        "INSERT INTO customers (customer_number, name, language, currency, "
        "payment_terms_days, penalty_rule, indemnity_enabled) "
        "VALUES ('C1', 'Grand compte', 'fr', 'EUR', 30, 'fr_legal', true)"
    )
    con.execute(
        "INSERT INTO items (item_id, customer_number, doc_type, doc_number, "
        "issue_date, due_date, amount, open_amount, currency, reference) "
        "SELECT i, 'C1', 'invoice', 'FA-' || i, DATE '2025-01-01', DATE '2025-02-01', "
        "100.00, 100.00, 'EUR', 'Prestation 0000 ' || i FROM range(1, 200001) r(i)"
    )
    monkeypatch.setattr(search, "EXPERT_TIME_LIMIT_S", 0.5)
    where = f"length({_nested_replace(3)}) > 10"
    started = time.monotonic()
    with pytest.raises(InvalidValue, match=r"took longer than 0\.5 s"):
        search.run(con, search.Filters(where=where), AS_OF)
    assert time.monotonic() - started < 0.5 + 1


def test_searching_by_the_actions_an_item_has_had(ws):
    """FA-2026-0041 of C00012 is claimed by a call task at 2026-02-15 (today)."""
    claimed = search.run(ws.con, search.Filters(text="FA-2026-0041"), AS_OF).rows
    actions.create(
        ws.con,
        "C00012",
        [claimed[0]["item_id"]],
        "call",
        "Appel",
        "Rappeler pour #items_amount_selected.",
        as_of=AS_OF,
    )
    since = search.run(ws.con, search.Filters(action_since=AS_OF), AS_OF)
    assert [row["doc_number"] for row in since.rows] == ["FA-2026-0041"]
    quiet = search.run(ws.con, search.Filters(no_action_since=AS_OF), AS_OF)
    # The five items but the one claimed today.
    assert quiet.count == 4
    later = search.run(
        ws.con, search.Filters(action_since=AS_OF + dt.timedelta(days=1)), AS_OF
    )
    assert later.count == 0

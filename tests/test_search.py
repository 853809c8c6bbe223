"""Search: filters compiled to bound SQL, results on a real workspace, expert SQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from dunning import Workspace, importing, search
from dunning.errors import InvalidValue

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

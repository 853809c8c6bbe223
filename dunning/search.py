"""Searching open items: filters compiled to SQL with bound parameters.

The search runs over the ledger at an as-of date (`ledger.items_at`). Each filter
adds a condition whose values are bound parameters, never text pasted into SQL. An
expert expression is parsed by DuckDB's own parser and accepted only when every node
is a column of the items view, a literal, an operator or an allowed function.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import duckdb

from dunning import ledger, money
from dunning.errors import InvalidValue

DOC_TYPES = ("invoice", "credit_note", "payment", "adjustment")
STATUSES = ("open", "promised", "disputed", "dispute_resolved", "litigation", "ignored")

# Columns an expert expression may name: those of the command line's JSON.
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
    "segment",
    "account_manager",
)
SORTABLE = (*COLUMNS, "item_id")

# Scalar functions and operators an expert expression may call.
FUNCTIONS = {
    "+",
    "-",
    "*",
    "/",
    "%",
    "//",
    "||",
    "~~",
    "!~~",
    "~~*",
    "!~~*",
    "~~~",
    "abs",
    "round",
    "floor",
    "ceil",
    "greatest",
    "least",
    "coalesce",
    "nullif",
    "lower",
    "upper",
    "trim",
    "ltrim",
    "rtrim",
    "length",
    "substr",
    "substring",
    "left",
    "right",
    "starts_with",
    "ends_with",
    "contains",
    "strip_accents",
    "regexp_matches",
    "regexp_full_match",
    "like_escape",
    "ilike_escape",
    "replace",
    "concat",
    "year",
    "month",
    "day",
    "quarter",
    "week",
    "dayofweek",
    "date_diff",
    "datediff",
    "date_part",
    "date_trunc",
    "current_date",
    "today",
    "make_date",
    "prefix",
    "suffix",
    "if",
    "ifnull",
    "isnan",
}
_NODE_CLASSES = {
    "CONJUNCTION",
    "COMPARISON",
    "COLUMN_REF",
    "CONSTANT",
    "OPERATOR",
    "FUNCTION",
    "CAST",
    "BETWEEN",
    "CASE",
}
_OPERATORS = {
    "OPERATOR_NOT",
    "OPERATOR_IS_NULL",
    "OPERATOR_IS_NOT_NULL",
    "COMPARE_IN",
    "COMPARE_NOT_IN",
    "OPERATOR_COALESCE",
}
EXPERT_TIME_LIMIT_S = 5.0
DEFAULT_LIMIT = 500


@dataclass
class Filters:
    """Every filter of the search; None or empty means "not filtered"."""

    customer: list[str] = field(default_factory=list)
    customer_text: str | None = None
    segment: list[str] = field(default_factory=list)
    account_manager: list[str] = field(default_factory=list)
    doc_type: list[str] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    currency: list[str] = field(default_factory=list)
    min_days_late: int | None = None
    max_days_late: int | None = None
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    issue_from: dt.date | None = None
    issue_to: dt.date | None = None
    due_from: dt.date | None = None
    due_to: dt.date | None = None
    bucket: list[str] = field(default_factory=list)
    text: str | None = None
    where: str | None = None


@dataclass
class Result:
    """Every match counted and totalled, and one page of rows."""

    count: int
    totals: dict[str, Decimal]
    items: Any  # a pandas DataFrame of the page, for display
    rows: list[dict[str, Any]]


def amount(value: Any, what: str = "amount") -> Decimal | None:
    """An amount typed by a user (dot or comma decimal), as Decimal."""
    if value in (None, ""):
        return None
    text = str(value).strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        return Decimal(text)
    except InvalidOperation as error:
        raise InvalidValue(
            f"{what} {value!r} is not a number (e.g. 500 or 1234.56)."
        ) from error


def to_sql(filters: Filters) -> tuple[str, dict[str, Any]]:
    """The WHERE clause and bound parameters for a set of filters."""
    conditions: list[str] = []
    params: dict[str, Any] = {}

    def add(condition: str, **values: Any) -> None:
        conditions.append(condition)
        params.update(values)

    if filters.customer:
        add("customer_number = ANY($customers)", customers=list(filters.customer))
    if filters.customer_text:
        add(
            "(customer_number ILIKE $customer_like OR customer_name ILIKE "
            "$customer_like)",
            customer_like=f"%{filters.customer_text.strip()}%",
        )
    if filters.segment:
        add("segment = ANY($segments)", segments=list(filters.segment))
    if filters.account_manager:
        add("account_manager = ANY($managers)", managers=list(filters.account_manager))
    if filters.doc_type:
        _check_choices(filters.doc_type, DOC_TYPES, "document type")
        add("doc_type = ANY($doc_types)", doc_types=list(filters.doc_type))
    if filters.status:
        _check_choices(filters.status, STATUSES, "status")
        add("status = ANY($statuses)", statuses=list(filters.status))
    if filters.currency:
        add(
            "currency = ANY($currencies)",
            currencies=[c.upper() for c in filters.currency],
        )
    if filters.min_days_late is not None:
        add("days_late >= $min_days_late", min_days_late=int(filters.min_days_late))
    if filters.max_days_late is not None:
        add("days_late <= $max_days_late", max_days_late=int(filters.max_days_late))
    if filters.min_amount is not None:
        add("open_amount >= $min_amount", min_amount=amount(filters.min_amount))
    if filters.max_amount is not None:
        add("open_amount <= $max_amount", max_amount=amount(filters.max_amount))
    if filters.issue_from:
        add("issue_date >= $issue_from", issue_from=filters.issue_from)
    if filters.issue_to:
        add("issue_date <= $issue_to", issue_to=filters.issue_to)
    if filters.due_from:
        add("due_date >= $due_from", due_from=filters.due_from)
    if filters.due_to:
        add("due_date <= $due_to", due_to=filters.due_to)
    if filters.bucket:
        known = [key for key, _ in ledger.BUCKETS]
        _check_choices(filters.bucket, known, "aging bucket")
        add(f"({ledger.bucket_sql()}) = ANY($buckets)", buckets=list(filters.bucket))
    if filters.text:
        add(
            "(doc_number ILIKE $text ESCAPE '\\' OR reference ILIKE $text ESCAPE '\\' "
            "OR customer_name ILIKE $text ESCAPE '\\')",
            text=f"%{_like_escaped(filters.text.strip())}%",
        )
    if filters.where and filters.where.strip():
        conditions.append(f"({check_expression(filters.where)})")
    return " AND ".join(conditions) or "true", params


def _like_escaped(text: str) -> str:
    """Text matched literally by ILIKE: % and _ lose their wildcard meaning."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _check_choices(values, allowed, what: str) -> None:
    for value in values:
        if value not in allowed:
            raise InvalidValue(
                f"Unknown {what} {value!r}: use one of {', '.join(allowed)}."
            )


def check_expression(expression: str) -> str:
    """The expert expression itself, once DuckDB's parser shows it is harmless.

    The expression is parsed as the WHERE clause of a query over the items view;
    every node must be a column of that view, a literal, an operator or an allowed
    scalar function. Subqueries, table functions, other tables, second statements
    and anything reaching files, the network or the environment are refused.
    """
    if ";" in expression.replace("';'", ""):
        raise InvalidValue(
            "The expression contains ';': write one condition, not statements."
        )
    if not _balanced(expression):
        raise InvalidValue(
            "The expression's parentheses do not match: close each one you open."
        )
    probe = duckdb.connect()
    try:
        text = probe.execute(
            "SELECT json_serialize_sql(?)",
            [f"SELECT * FROM items_view WHERE ({expression})"],
        ).fetchone()[0]
    finally:
        probe.close()
    tree = json.loads(text)
    if tree.get("error"):
        raise InvalidValue(
            f"The expression is not valid SQL: {tree.get('error_message')}. "
            "Example: days_late > 45 AND open_amount > 1000."
        )
    statements = tree["statements"]
    node = statements[0]["node"] if len(statements) == 1 else {}
    if (
        node.get("type") != "SELECT_NODE"
        or node.get("from_table", {}).get("table_name") != "items_view"
        or node.get("modifiers")
        or node.get("cte_map", {}).get("map")
        or node.get("group_expressions")
        or node.get("having")
        or node.get("qualify")
    ):
        raise InvalidValue(
            "The expression must be one condition on the items' columns, "
            "e.g. days_late > 45 AND open_amount > 1000."
        )
    _check_node(node["where_clause"])
    return expression


def _balanced(expression: str) -> bool:
    """True when parentheses outside string literals open and close in order."""
    depth, quoted = 0, False
    for char in expression:
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0 and not quoted


def _check_node(node: Any) -> None:
    if isinstance(node, list):
        for child in node:
            _check_node(child)
        return
    if not isinstance(node, dict):
        return
    if node.get("class") == "TYPE":
        return  # a type descriptor (CAST target, DATE '...'): nothing to run
    if "class" in node:
        _check_expression_node(node)
    for key, child in node.items():
        if key in ("literal", "cast_type", "type_info"):
            continue
        if isinstance(child, dict | list):
            _check_node(child)


def _check_expression_node(node: dict) -> None:
    kind = node["class"]
    if kind not in _NODE_CLASSES:
        what = "a subquery" if kind == "SUBQUERY" else kind.lower().replace("_", " ")
        raise InvalidValue(
            f"The expression uses {what}, which is not allowed: use the items' "
            f"columns ({', '.join(COLUMNS)}), literals, operators and simple functions."
        )
    if kind == "COLUMN_REF":
        names = node.get("column_names", [])
        if len(names) != 1 or names[0].lower() not in COLUMNS:
            raise InvalidValue(
                f"Unknown column {'.'.join(names)!r}: the expression can use "
                f"{', '.join(COLUMNS)}."
            )
    if kind == "OPERATOR" and node["type"] not in _OPERATORS:
        raise InvalidValue(f"The operator {node['type']} is not allowed here.")
    if kind == "FUNCTION":
        name = node.get("function_name", "").lower()
        if node.get("schema") or node.get("catalog") or name not in FUNCTIONS:
            raise InvalidValue(
                f"The function {name!r} is not allowed in a search expression; "
                "allowed: "
                + ", ".join(sorted(f for f in FUNCTIONS if f.isalpha()))
                + "."
            )
        if node.get("filter") or node.get("order_bys", {}).get("orders"):
            raise InvalidValue(f"The function {name!r} cannot take FILTER or ORDER BY.")


def _base(as_of: dt.date) -> tuple[str, dict[str, Any]]:
    return f"SELECT *, {ledger.bucket_sql()} AS bucket FROM ({ledger.items_at()})", {
        "as_of": as_of
    }


def run(
    con: duckdb.DuckDBPyConnection,
    filters: Filters,
    as_of: dt.date,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    sort: str = "due_date",
    descending: bool = False,
) -> Result:
    """Count, per-currency totals of every match, and one page of rows."""
    where, params = to_sql(filters)
    base, base_params = _base(as_of)
    params.update(base_params)
    if limit < 0 or offset < 0:
        raise InvalidValue("The limit and offset of a search cannot be negative.")
    if sort not in SORTABLE:
        raise InvalidValue(
            f"Cannot sort by {sort!r}: use one of {', '.join(SORTABLE)}."
        )
    order = f"{sort} {'DESC' if descending else 'ASC'} NULLS LAST, item_id"
    cursor = con.cursor()
    timer = threading.Timer(EXPERT_TIME_LIMIT_S, cursor.interrupt)
    timer.start()
    try:
        matches = f"SELECT * FROM ({base}) WHERE {where}"
        totals_rows = cursor.execute(
            f"SELECT currency, count(*), sum(open_amount) FROM ({matches}) "
            "GROUP BY currency ORDER BY currency",
            params,
        ).fetchall()
        page = cursor.execute(
            f"SELECT {', '.join(SORTABLE)} FROM ({matches}) ORDER BY {order} "
            f"LIMIT {int(limit)} OFFSET {int(offset)}",
            params,
        )
        names = [d[0] for d in page.description]
        rows = [dict(zip(names, r, strict=True)) for r in page.fetchall()]
    except duckdb.InterruptException as error:
        raise InvalidValue(
            f"The search took longer than {EXPERT_TIME_LIMIT_S:.0f} s and was stopped; "
            "narrow the expression."
        ) from error
    except duckdb.Error as error:
        hint = " Check the expert expression." if filters.where else ""
        detail = str(error).splitlines()[0].split(": ", 1)[-1]
        raise InvalidValue(f"The search failed: {detail}.{hint}") from error
    finally:
        timer.cancel()
        cursor.close()
    count = sum(row[1] for row in totals_rows)
    totals = {row[0]: money.to_cents(row[2]) for row in totals_rows}
    import pandas as pd  # imported here: the command line does not need it

    return Result(count, totals, pd.DataFrame(rows, columns=list(SORTABLE)), rows)


def item_ids(con, filters: Filters, as_of: dt.date) -> list[int]:
    """The ids of every match (for "select all matches")."""
    where, params = to_sql(filters)
    base, base_params = _base(as_of)
    rows = con.execute(
        f"SELECT item_id FROM ({base}) WHERE {where} ORDER BY item_id",
        {**params, **base_params},
    ).fetchall()
    return [row[0] for row in rows]


def describe(filters: Filters) -> str:
    """The active filters in words, for a heading or a saved search."""
    parts = []
    if filters.customer:
        parts.append("customer " + ", ".join(filters.customer))
    if filters.doc_type:
        parts.append("type " + ", ".join(filters.doc_type))
    if filters.status:
        parts.append("status " + ", ".join(filters.status))
    if filters.min_days_late is not None:
        parts.append(f"at least {filters.min_days_late} days late")
    if filters.max_days_late is not None:
        parts.append(f"at most {filters.max_days_late} days late")
    if filters.min_amount is not None:
        parts.append(f"open amount >= {filters.min_amount}")
    if filters.max_amount is not None:
        parts.append(f"open amount <= {filters.max_amount}")
    if filters.text:
        parts.append(f"text contains '{filters.text}'")
    if filters.where:
        parts.append(f"where {filters.where}")
    return "; ".join(parts) or "all open items"

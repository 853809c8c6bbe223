"""Searching open items: filters compiled to SQL with bound parameters.

The search runs over the ledger at an as-of date (`ledger.items_at`). Each filter
adds a condition whose values are bound parameters, never text pasted into SQL. An
expert expression is parsed by DuckDB's own parser and accepted only when every node
is a column of the items view, a literal, an operator or an allowed function. Searches
can be saved by name in the workspace (`saved_searches`) and rerun.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import duckdb

from dunning import clock, ledger, money
from dunning.errors import InvalidValue, NotFound

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
    # what DuckDB's parser turns `INTERVAL 30 DAY` into
    "trunc",
    "to_days",
    "to_weeks",
    "to_months",
    "to_years",
}
# Types a CAST or a typed literal (DATE '2026-03-01') may name: built-in scalars only.
# Any other name could make DuckDB autoload an extension (a download) or reach a type
# defined in the workspace.
CAST_TYPES = {
    "BOOLEAN",
    "BOOL",
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "INT",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "DECIMAL",
    "NUMERIC",
    "DOUBLE",
    "FLOAT",
    "REAL",
    "VARCHAR",
    "TEXT",
    "STRING",
    "DATE",
    "TIMESTAMP",
    "INTERVAL",
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
# How many times longer than the items' own text an expression may make a text.
# DuckDB checks for an interruption between chunks of rows, never inside a function
# call: `replace(reference, '0', '0000000000')` nested six deep builds megabytes per
# row in one call, which no time limit can stop, so such growth is refused before
# the query runs (three nested x10 replacements are still allowed).
MAX_TEXT_GROWTH = 1000
# The growth counted for a replacement that is not a literal (a column's text).
_UNKNOWN_GROWTH = 100
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
    action_since: dt.date | None = None
    no_action_since: dt.date | None = None


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
        add(_text_condition(filters.text.strip()), text=_text_pattern(filters.text))
    if filters.action_since:
        add(
            f"item_id IN ({_claimed_since('action_since')})",
            action_since=filters.action_since,
        )
    if filters.no_action_since:
        add(
            f"item_id NOT IN ({_claimed_since('quiet_since')})",
            quiet_since=filters.no_action_since,
        )
    if filters.where and filters.where.strip():
        conditions.append(f"({check_expression(filters.where)})")
    return " AND ".join(conditions) or "true", params


def _claimed_since(param: str) -> str:
    """Items an action (not cancelled) claimed on or after the date bound to
    `param`: the day it was carried out, else the day it was validated."""
    return f"""
    SELECT ai.item_id FROM action_items ai JOIN actions a USING (action_id)
    WHERE a.status <> 'cancelled'
      AND coalesce(a.executed_at, a.created_at)::DATE >= ${param}"""


def _text_condition(text: str) -> str:
    """Free text matched in document number, reference and customer name.

    Text without a wildcard character needs no ESCAPE clause, and DuckDB runs a
    plain ILIKE about twice as fast as one with ESCAPE; both match the same rows.
    """
    escape = " ESCAPE '\\'" if _like_escaped(text) != text else ""
    return (
        f"(doc_number ILIKE $text{escape} OR reference ILIKE $text{escape} "
        f"OR customer_name ILIKE $text{escape})"
    )


def _text_pattern(text: str) -> str:
    return f"%{_like_escaped(text.strip())}%"


def _like_escaped(text: str) -> str:
    """Text matched literally by ILIKE: % and _ lose their wildcard meaning."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _check_choices(values, allowed, what: str) -> None:
    for value in values:
        if value not in allowed:
            raise InvalidValue(
                f"Unknown {what} {value!r}: use one of {', '.join(allowed)}."
            )


# The query an expert expression is parsed in, and printed back from.
_PROBE = "SELECT * FROM items_view WHERE "


def check_expression(expression: str) -> str:
    """The expert expression as DuckDB prints it back, once shown to be harmless.

    The expression is parsed as the WHERE clause of a query over the items view;
    every node must be a column of that view, a literal, an operator, an allowed
    scalar function or a cast to a built-in type. Subqueries, table functions, other
    tables, second statements and anything reaching files, the network or the
    environment are refused. What runs is the checked tree printed back by DuckDB
    (`json_deserialize_sql`), not the typed text: a comment or quoting trick cannot
    make the query differ from what was checked.
    """
    symbols = _symbols(expression)
    if ";" in symbols:
        raise InvalidValue(
            "The expression contains ';': write one condition, not statements."
        )
    if "--" in symbols:
        raise InvalidValue(
            "The expression contains a comment (-- or /* */): write the condition "
            "alone."
        )
    if not _balanced(symbols):
        raise InvalidValue(
            "The expression's parentheses do not match: close each one you open."
        )
    probe = duckdb.connect()
    try:
        text = probe.execute(
            "SELECT json_serialize_sql(?)", [f"{_PROBE}({expression})"]
        ).fetchone()[0]
        _check_tree(json.loads(text))
        printed = probe.execute("SELECT json_deserialize_sql(?::JSON)", [text])
        canonical = printed.fetchone()[0]
    except duckdb.Error as error:
        raise InvalidValue(
            f"The expression cannot be read back: {_first_line(error)}. "
            "Example: days_late > 45 AND open_amount > 1000."
        ) from error
    finally:
        probe.close()
    if not canonical.startswith(_PROBE):
        raise InvalidValue(
            "The expression must be one condition on the items' columns, "
            "e.g. days_late > 45 AND open_amount > 1000."
        )
    return canonical[len(_PROBE) :]


def _check_tree(tree: dict) -> None:
    """Refuse a parsed probe query unless it is one SELECT with a harmless WHERE."""
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
    growth = _text_growth(node["where_clause"])
    if growth > MAX_TEXT_GROWTH:
        raise InvalidValue(
            f"The expression can make a text up to {growth:,} times longer than the "
            f"item's (nested replace); at most {MAX_TEXT_GROWTH:,} times is allowed, "
            "as longer texts cannot be stopped by the time limit. Nest fewer "
            "replacements."
        )


def _text_growth(node: Any) -> int:
    """How many times longer than its inputs' text a (checked) node's text can be.

    Of the allowed functions only `replace` multiplies a length: by
    len(replacement) / len(searched) at most, per occurrence. `repeat`, `lpad` and
    `rpad`, which would build a text of any length, are not allowed at all;
    concatenation only adds texts already counted.
    """
    if isinstance(node, list):
        return max((_text_growth(child) for child in node), default=1)
    if not isinstance(node, dict):
        return 1
    inner = max(
        (
            _text_growth(child)
            for child in node.values()
            if isinstance(child, dict | list)
        ),
        default=1,
    )
    if node.get("class") != "FUNCTION" or node.get("function_name") != "replace":
        return inner
    arguments = [a.get("expression", {}) for a in node.get("arguments", [])]
    if len(arguments) != 3:
        return inner
    text, searched, replacement = arguments
    found, written = _literal_text(searched), _literal_text(replacement)
    if found is not None and written is not None:
        factor = max(1, -(-len(written) // len(found))) if found else 1
    else:
        factor = _UNKNOWN_GROWTH * _text_growth(replacement)
    return max(inner, _text_growth(text) * factor)


def _literal_text(node: dict) -> str | None:
    """The text of a string literal node, None for anything else."""
    literal = node.get("literal", {}) if node.get("class") == "CONSTANT" else {}
    return literal.get("text") if literal.get("kind") == "STRING" else None


def _first_line(error: Exception) -> str:
    """DuckDB's message without its error class prefix."""
    return str(error).strip().splitlines()[0].split(": ", 1)[-1]


def _symbols(expression: str) -> str:
    """The operators and punctuation of the expression, as DuckDB's tokenizer reads it.

    String literals (of any quoting) and identifiers are left out, so a ';' or a
    parenthesis inside '...' counts for nothing; each comment shows as "--".
    """
    tokens = duckdb.tokenize(expression)
    ends = [offset for offset, _ in tokens[1:]] + [len(expression)]
    symbols = []
    for (offset, kind), end in zip(tokens, ends, strict=True):
        if kind == duckdb.token_type.comment:
            symbols.append("--")
        elif kind == duckdb.token_type.operator:
            symbols.append(expression[offset:end].strip())
    return " ".join(symbols)


def _balanced(symbols: str) -> bool:
    """True when parentheses open and close in order."""
    depth = 0
    for char in symbols:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def _check_node(node: Any) -> None:
    if isinstance(node, list):
        for child in node:
            _check_node(child)
        return
    if not isinstance(node, dict):
        return
    if node.get("class") == "TYPE":
        _check_type(node)  # a CAST target or typed literal: its children are checked
        return
    if "class" in node:
        _check_expression_node(node)
    for key, child in node.items():
        if key in ("literal", "cast_type", "type_info"):
            continue
        if isinstance(child, dict | list):
            _check_node(child)


def _check_type(node: dict) -> None:
    """A cast may name a built-in scalar type, with integer modifiers at most."""
    name = str(node.get("type_name", ""))
    if node.get("catalog") or node.get("schema") or name.upper() not in CAST_TYPES:
        raise InvalidValue(
            f"The type {name!r} is not allowed in a search expression; allowed: "
            + ", ".join(sorted(CAST_TYPES))
            + "."
        )
    for child in node.get("children", []):
        literal = child.get("literal", {}) if child.get("class") == "CONSTANT" else {}
        if literal.get("kind") != "INTEGER":
            raise InvalidValue(
                f"The type {name} can only take whole numbers, e.g. DECIMAL(18,2)."
            )


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


def matches_sql(filters: Filters, as_of: dt.date) -> tuple[str, dict[str, Any]]:
    """SQL of every match at the as-of date (items view columns and bucket), bound."""
    where, params = to_sql(filters)
    base, base_params = _base(as_of)
    return f"SELECT * FROM ({base}) WHERE {where}", {**params, **base_params}


@contextlib.contextmanager
def time_limited(
    con: duckdb.DuckDBPyConnection, expert: bool = False
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor of its own whose queries are stopped after EXPERT_TIME_LIMIT_S."""
    cursor = con.cursor()
    try:
        with time_limit(cursor, expert):
            yield cursor
    finally:
        cursor.close()


@contextlib.contextmanager
def time_limit(cursor: duckdb.DuckDBPyConnection, expert: bool = False) -> Iterator:
    """Interrupt the cursor's queries after EXPERT_TIME_LIMIT_S, for this block.

    A slow expert expression is stopped instead of freezing the app, and any DuckDB
    failure becomes one sentence (InvalidValue); a search writes nothing, so a
    stopped one leaves the workspace as it was.
    """
    timer = threading.Timer(EXPERT_TIME_LIMIT_S, cursor.interrupt)
    timer.start()
    try:
        yield
    except duckdb.InterruptException as error:
        raise InvalidValue(
            f"The search took longer than {EXPERT_TIME_LIMIT_S:g} s and was stopped; "
            "narrow the expression."
        ) from error
    except duckdb.Error as error:
        hint = " Check the expert expression." if expert else ""
        raise InvalidValue(f"The search failed: {_first_line(error)}.{hint}") from error
    finally:
        timer.cancel()


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
    matches, params = matches_sql(filters, as_of)
    if limit < 0 or offset < 0:
        raise InvalidValue("The limit and offset of a search cannot be negative.")
    if sort not in SORTABLE:
        raise InvalidValue(
            f"Cannot sort by {sort!r}: use one of {', '.join(SORTABLE)}."
        )
    direction = "DESC" if descending else "ASC"
    window = f"LIMIT {int(limit)} OFFSET {int(offset)}"
    with time_limited(con, expert=bool(filters.where)) as cursor:
        cursor.execute("BEGIN TRANSACTION")  # the totals and the page: one snapshot
        totals_rows, page_ids = _totals_and_page(
            cursor, matches, params, sort, direction, window
        )
        rows = _page_rows(cursor, as_of, page_ids, sort, direction)
        cursor.execute("ROLLBACK")  # the search only read
    count = sum(row[1] for row in totals_rows)
    totals = {row[0]: money.to_cents(row[2]) for row in totals_rows}
    import pandas as pd  # imported here: the command line does not need it

    return Result(count, totals, pd.DataFrame(rows, columns=list(SORTABLE)), rows)


def _totals_and_page(cursor, matches, params, sort, direction, window):
    """Per-currency count and sum of every match, and the ids of the page's rows.

    The filters run once: the matches are kept narrow (id, currency, open amount,
    sort key) in a materialised CTE that both the totals and the page's order read.
    """
    found = cursor.execute(
        "WITH matched AS MATERIALIZED ("
        f"  SELECT item_id, currency, open_amount, {sort} AS sort_key "
        f"  FROM ({matches})) "
        "SELECT currency, count(*), sum(open_amount), NULL::BIGINT "
        "FROM matched GROUP BY currency "
        "UNION ALL "
        "SELECT NULL, NULL, NULL, item_id FROM ("
        "  SELECT item_id FROM matched "
        f"  ORDER BY sort_key {direction} NULLS LAST, item_id {window})",
        params,
    ).fetchall()
    totals_rows = sorted(row[:3] for row in found if row[3] is None)
    return totals_rows, [row[3] for row in found if row[3] is not None]


def _page_rows(cursor, as_of, page_ids, sort, direction) -> list[dict[str, Any]]:
    """Every column of the page's items and their aging bucket, in the search's
    order."""
    base, base_params = _base(as_of)
    page = cursor.execute(
        f"SELECT {', '.join(SORTABLE)}, bucket FROM ({base}) "
        "JOIN (SELECT unnest($page_ids::BIGINT[]) AS item_id) USING (item_id) "
        f"ORDER BY {sort} {direction} NULLS LAST, item_id",
        {**base_params, "page_ids": page_ids},
    )
    names = [d[0] for d in page.description]
    return [dict(zip(names, row, strict=True)) for row in page.fetchall()]


def item_ids(con, filters: Filters, as_of: dt.date) -> list[int]:
    """The ids of every match (for "select all matches")."""
    matches, params = matches_sql(filters, as_of)
    with time_limited(con, expert=bool(filters.where)) as cursor:
        rows = cursor.execute(
            f"SELECT item_id FROM ({matches}) ORDER BY item_id", params
        ).fetchall()
    return [row[0] for row in rows]


def describe(filters: Filters) -> str:
    """The active filters in words, for a heading or a saved search."""
    labels = dict(ledger.BUCKETS)
    parts = [
        _listed("customer", filters.customer),
        _quoted("customer number or name contains", filters.customer_text),
        _listed("segment", filters.segment),
        _listed("account manager", filters.account_manager),
        _listed("type", filters.doc_type),
        _listed("status", filters.status),
        _listed("currency", filters.currency),
        _span("issued", filters.issue_from, filters.issue_to),
        _span("due", filters.due_from, filters.due_to),
        _days("at least", filters.min_days_late),
        _days("at most", filters.max_days_late),
        _listed("aging", [labels.get(key, key) for key in filters.bucket]),
        _bound("open amount >= {}", filters.min_amount),
        _bound("open amount <= {}", filters.max_amount),
        _quoted("text contains", filters.text),
        _quoted("where", filters.where, quote=""),
        _bound("had an action since {}", filters.action_since),
        _bound("no action since {}", filters.no_action_since),
    ]
    return "; ".join(part for part in parts if part) or "all open items"


def _listed(what: str, values: list[str]) -> str | None:
    return f"{what} {', '.join(values)}" if values else None


def _quoted(what: str, text: str | None, quote: str = "'") -> str | None:
    text = (text or "").strip()
    return f"{what} {quote}{text}{quote}" if text else None


def _bound(pattern: str, value: Any) -> str | None:
    return None if value in (None, "") else pattern.format(value)


def _days(bound: str, value: Any) -> str | None:
    """'at least 30 days late', 'at most 1 day late'."""
    if value in (None, ""):
        return None
    return f"{bound} {value} day{'' if abs(int(value)) == 1 else 's'} late"


def _span(what: str, start: Any, end: Any) -> str | None:
    """'issued from 2026-01-01 to 2026-01-31', or one side of it."""
    if start and end:
        return f"{what} from {start} to {end}"
    if start:
        return f"{what} from {start}"
    return f"{what} until {end}" if end else None


# ---------------------------------------------------------------------------
# Saved searches

_DECIMAL_FIELDS = ("min_amount", "max_amount")
_DATE_FIELDS = (
    "issue_from",
    "issue_to",
    "due_from",
    "due_to",
    "action_since",
    "no_action_since",
)
_INT_FIELDS = ("min_days_late", "max_days_late")
_LIST_FIELDS = tuple(
    f.name for f in dataclasses.fields(Filters) if f.default_factory is list
)
NAME_MAX_LENGTH = 80


@dataclass
class SavedSearch:
    """A search stored by name in the workspace."""

    name: str
    filters: Filters
    saved_at: dt.datetime

    @property
    def description(self) -> str:
        return describe(self.filters)


def normalised(filters: Filters) -> Filters:
    """The same filters with typed values: Decimal amounts, dates, ints, lists."""
    values = dataclasses.asdict(filters)
    for name in _DECIMAL_FIELDS:
        values[name] = amount(values[name], name.replace("_", " "))
    for name in _DATE_FIELDS:
        if values[name] not in (None, ""):
            values[name] = clock.parse_iso(values[name], name.replace("_", " "))
        else:
            values[name] = None
    for name in _INT_FIELDS:
        if values[name] not in (None, ""):
            values[name] = _whole_number(values[name], name.replace("_", " "))
        else:
            values[name] = None
    for name in _LIST_FIELDS:
        value = values[name]
        values[name] = [value] if isinstance(value, str) else list(value or [])
    return Filters(**values)


def _whole_number(value: Any, what: str) -> int:
    try:
        return int(str(value).strip())
    except ValueError as error:
        raise InvalidValue(
            f"{what} {value!r} is not a whole number of days (e.g. 30)."
        ) from error


def to_json(filters: Filters) -> str:
    """The filters as JSON text: amounts as decimal strings, dates as ISO strings."""
    values = dataclasses.asdict(normalised(filters))
    for name in _DECIMAL_FIELDS:
        if values[name] is not None:
            values[name] = str(values[name])
    for name in _DATE_FIELDS:
        if values[name] is not None:
            values[name] = values[name].isoformat()
    return json.dumps(values, ensure_ascii=False, sort_keys=True)


def from_json(text: str) -> Filters:
    """Filters back from `to_json` text, with the same types and values."""
    try:
        values = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidValue(f"The stored filters are not JSON ({error.msg}).") from error
    known = {f.name for f in dataclasses.fields(Filters)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise InvalidValue(
            f"The stored filters name unknown filters ({', '.join(unknown)}); "
            "they were saved by a newer release."
        )
    for name in _DECIMAL_FIELDS:
        if values.get(name) is not None:
            values[name] = Decimal(values[name])
    for name in _DATE_FIELDS:
        if values.get(name) is not None:
            values[name] = dt.date.fromisoformat(values[name])
    return Filters(**values)


def save(con: duckdb.DuckDBPyConnection, name: str, filters: Filters) -> SavedSearch:
    """Store the filters under a name, replacing a search saved under it before."""
    name = _checked_name(name)
    filters = normalised(filters)
    to_sql(filters)  # refuses unknown choices and harmful expressions before storing
    con.execute(
        "INSERT INTO saved_searches (name, filters, saved_at) VALUES (?, ?, now()) "
        "ON CONFLICT (name) DO UPDATE SET filters = excluded.filters, "
        "saved_at = now()",
        [name, to_json(filters)],
    )
    return load_saved(con, name)


def load(con: duckdb.DuckDBPyConnection, name: str) -> Filters:
    """The filters of the search saved under this name."""
    return load_saved(con, name).filters


def load_saved(con: duckdb.DuckDBPyConnection, name: str) -> SavedSearch:
    """The saved search of this name, with when it was saved."""
    row = con.execute(
        "SELECT name, filters, saved_at FROM saved_searches WHERE name = ?",
        [str(name).strip()],
    ).fetchone()
    if row is None:
        raise _not_found(con, name)
    return SavedSearch(row[0], from_json(row[1]), row[2])


def saved(con: duckdb.DuckDBPyConnection) -> list[SavedSearch]:
    """Every saved search, by name."""
    rows = con.execute(
        "SELECT name, filters, saved_at FROM saved_searches ORDER BY name"
    ).fetchall()
    return [SavedSearch(name, from_json(text), at) for name, text, at in rows]


def delete(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Remove the search saved under this name."""
    load_saved(con, name)  # an unknown name is reported, not silently ignored
    con.execute("DELETE FROM saved_searches WHERE name = ?", [str(name).strip()])


def _checked_name(name: str) -> str:
    name = str(name or "").strip()
    if not name:
        raise InvalidValue("Give the search a name, e.g. 'Over 45 days, above 1000'.")
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidValue(
            f"The name {name[:20]!r}... has {len(name)} characters: use at most "
            f"{NAME_MAX_LENGTH}."
        )
    if any(ord(char) < 32 for char in name):
        raise InvalidValue(
            f"The name {name!r} holds a line break or control character: write it "
            "on one line."
        )
    return name


def _not_found(con: duckdb.DuckDBPyConnection, name: str) -> NotFound:
    rows = con.execute("SELECT name FROM saved_searches ORDER BY 1").fetchall()
    names = [row[0] for row in rows]
    known = (
        f"saved searches: {', '.join(repr(n) for n in names)}"
        if names
        else "no search is saved yet"
    )
    return NotFound(f"No saved search is named {str(name).strip()!r}; {known}.")

"""Customer records: details, payment terms, penalty settings, contacts, items."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

import duckdb

from dunning import ledger, parsing
from dunning.errors import InvalidValue, NotFound

PENALTY_RULES = ("fr_legal", "de_legal", "uk_legal", "fixed", "none")
FLAG_LABELS = {
    "indemnity_enabled": "Fixed indemnity",
    "is_consumer": "Consumer",
    "in_insolvency": "Insolvency proceedings",
}
LANGUAGES = ("fr", "en")
EDITABLE = (
    "name",
    "phone",
    "address",
    "postal_code",
    "city",
    "country",
    "language",
    "currency",
    "payment_terms_days",
    "segment",
    "account_manager",
    "penalty_rule",
    "penalty_rate",
    "indemnity_enabled",
    "is_consumer",
    "in_insolvency",
)


def _rows(cursor) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def get(con: duckdb.DuckDBPyConnection, customer_number: str) -> dict[str, Any]:
    """One customer's record."""
    rows = _rows(
        con.execute(
            "SELECT * FROM customers WHERE customer_number = ?", [customer_number]
        )
    )
    if not rows:
        raise NotFound(
            f"No customer has the number {customer_number!r}. Customer numbers are "
            "kept as text: check leading zeros."
        )
    return rows[0]


def listing(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every customer: number and name, for pickers."""
    return _rows(
        con.execute(
            "SELECT customer_number, name, needs_review FROM customers "
            "ORDER BY customer_number"
        )
    )


def contacts(con: duckdb.DuckDBPyConnection, customer_number: str) -> list[dict]:
    """The customer's contacts, dunning contact first."""
    return _rows(
        con.execute(
            """
            SELECT contact_id, name, role, email, phone FROM contacts
            WHERE customer_number = ?
            ORDER BY CASE role WHEN 'dunning' THEN 0 WHEN 'billing' THEN 1
                     WHEN 'management' THEN 2 ELSE 3 END, contact_id
            """,
            [customer_number],
        )
    )


def open_items(
    con: duckdb.DuckDBPyConnection, customer_number: str, as_of: dt.date
) -> list[dict[str, Any]]:
    """The customer's open items at the as-of date, oldest due date first."""
    return _rows(
        con.execute(
            f"SELECT *, {ledger.bucket_sql()} AS bucket FROM ({ledger.items_at()}) "
            "WHERE customer_number = $customer "
            "ORDER BY due_date NULLS LAST, doc_number",
            {"as_of": as_of, "customer": customer_number},
        )
    )


def update(
    con: duckdb.DuckDBPyConnection, customer_number: str, changes: dict[str, Any]
) -> dict[str, Any]:
    """Change a customer's details and settings after checking every value."""
    get(con, customer_number)
    clean = {key: checked_field(key, value) for key, value in changes.items()}
    if not clean:
        return get(con, customer_number)
    check_penalty_settings({**get(con, customer_number), **clean})
    assignments = ", ".join(f"{key} = ?" for key in clean)
    con.execute(
        f"UPDATE customers SET {assignments}, needs_review = false, "
        "updated_at = current_timestamp WHERE customer_number = ?",
        [*clean.values(), customer_number],
    )
    return get(con, customer_number)


def check_penalty_settings(record: dict[str, Any]) -> None:
    """Refuse a record whose penalty rule lacks what it needs (fixed: its rate)."""
    if record.get("penalty_rule") == "fixed" and record.get("penalty_rate") is None:
        raise InvalidValue(
            "The fixed penalty rule needs its annual rate: give the contractual "
            "rate (e.g. 12.5), or choose another rule."
        )


def _flag(key: str, value: Any) -> bool:
    """A yes/no setting: a boolean, or text such as oui/non, yes/no, true/false, 1/0."""
    flag = value if isinstance(value, bool) else parsing.yes_no(str(value))
    if flag is None:
        label = FLAG_LABELS[key]
        raise InvalidValue(
            f"{label} {value!r}: write yes or no (also oui/non, o/n, true/false, 1/0)."
        )
    return flag


def _days(value: Any) -> int:
    """Payment terms typed by a user: a whole number of days from 0 to 365."""
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or not 0 <= int(text) <= 365:
        raise InvalidValue(
            f"Payment terms {value!r}: give a whole number of days from 0 to 365."
        )
    return int(text)


def _rate(value: Any) -> Decimal:
    """An annual percentage typed by a user: 12.5 or 12,5, from 0 to 100."""
    try:
        rate = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        rate = None
    if rate is None or not rate.is_finite() or not Decimal(0) <= rate <= Decimal(100):
        raise InvalidValue(
            f"Penalty rate {value!r}: give an annual percentage from 0 to 100 "
            "(e.g. 12.5)."
        )
    return rate


def checked_field(key: str, value: Any) -> Any:
    """A value for one editable field, or InvalidValue saying what is expected."""
    if key not in EDITABLE:
        raise InvalidValue(f"The field {key!r} of a customer cannot be edited.")
    if key == "language" and value not in LANGUAGES:
        raise InvalidValue(f"Language {value!r}: use fr or en.")
    if key == "penalty_rule" and value not in PENALTY_RULES:
        raise InvalidValue(
            f"Penalty rule {value!r}: use one of {', '.join(PENALTY_RULES)}."
        )
    if key == "payment_terms_days":
        return _days(value)
    if key in FLAG_LABELS and value is not None:
        return _flag(key, value)
    if key == "penalty_rate" and value not in (None, ""):
        return _rate(value)
    if key == "currency" and (not isinstance(value, str) or len(value) != 3):
        raise InvalidValue(f"Currency {value!r}: use a 3-letter ISO code like EUR.")
    if isinstance(value, str):
        return value.strip() or None
    return value

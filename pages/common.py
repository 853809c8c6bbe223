"""What every page shares: the workspace connection, the as-of date, cached read-only
results, display helpers and the one way a page shows an error."""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal
from typing import Any

import duckdb
import pandas as pd
import streamlit as st

from dunning import aging, clock, customers, formatting, importing, ledger, store
from dunning.errors import DunningError

PAGE_ACCOUNTS = "pages/accounts.py"
PAGE_CUSTOMER = "pages/customer.py"
PAGE_IMPORT = "pages/import_file.py"
PAGE_SETTINGS = "pages/settings.py"

# A page never sends more rows than this to the browser (DESIGN 16).
PAGE_SIZE = 500

BUCKET_LABELS = dict(ledger.BUCKETS)
# The way formatting.date writes a date, in the table's own (momentJS) notation, so
# a date column keeps sorting as a date and reads like the dates in the text.
DATE_COLUMN_FORMATS = {"fr": "DD/MM/YYYY", "en": "D MMM YYYY"}

_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


# ---------------------------------------------------------------------------
# The workspace


def _close(con: duckdb.DuckDBPyConnection) -> None:
    con.close()


@st.cache_resource(show_spinner=False, on_release=_close)
def _open(path: str) -> duckdb.DuckDBPyConnection:
    """One connection per workspace file and process (DESIGN 15)."""
    return store.connect(path)


def workspace_path() -> str:
    """The workspace file this process works on ($DUNNING_DB or the default)."""
    return str(store.default_path())


def connection() -> duckdb.DuckDBPyConnection:
    """The process's connection to the workspace, opened on first use."""
    return _open(workspace_path())


def cursor() -> duckdb.DuckDBPyConnection:
    """A cursor of this run's own: a DuckDB connection is not thread-safe."""
    return connection().cursor()


AS_OF_CHOSEN = "as_of_chosen"


def remember_as_of() -> None:
    """Keep the sidebar's date where a page switch cannot clear it."""
    st.session_state[AS_OF_CHOSEN] = st.session_state.get("as_of")


def as_of() -> dt.date:
    """The as-of date chosen in the sidebar, today until one is chosen."""
    for key in ("as_of", AS_OF_CHOSEN):
        value = st.session_state.get(key)
        if isinstance(value, dt.date):
            return value
    return clock.today()


def language() -> str:
    """The workspace's language (settings), for figures not tied to one customer."""
    with cursor() as con:
        return store.get_setting(con, "defaults.language") or "fr"


def default_currency() -> str:
    """The currency an item without one takes (settings)."""
    with cursor() as con:
        return store.get_setting(con, "defaults.currency") or "EUR"


def show_error(error: DunningError) -> None:
    """The one way a page reports a failure the user can act on."""
    st.error(f"**{error.title}.** {error}")


def data_changed() -> None:
    """Forget every cached result: called after any write to the workspace."""
    st.cache_data.clear()


def open_customer(number: str) -> None:
    """Show the customer record of one customer."""
    st.session_state["customer"] = number
    st.switch_page(PAGE_CUSTOMER)


# ---------------------------------------------------------------------------
# Cached read-only results, keyed by workspace file and as-of date


@st.cache_data(show_spinner=False, max_entries=32)
def accounts(
    path: str, as_of: dt.date, filters: tuple, sort: str, descending: bool, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    """One page of accounts matching the filters, and the count of every match."""
    with _open(path).cursor() as con:
        return aging.accounts(
            con,
            as_of,
            **dict(filters),
            sort=sort,
            descending=descending,
            limit=PAGE_SIZE,
            offset=offset,
        )


@st.cache_data(show_spinner=False, max_entries=4)
def account_choices(path: str) -> dict[str, list[str]]:
    """Segments, account managers and currencies, for the filter pickers."""
    with _open(path).cursor() as con:
        return aging.choices(con)


@st.cache_data(show_spinner=False, max_entries=8)
def totals(path: str, as_of: dt.date) -> dict[str, dict[str, Decimal]]:
    """Workspace totals per currency, as Decimal."""
    with _open(path).cursor() as con:
        return aging.totals(con, as_of)


@st.cache_data(show_spinner=False, max_entries=8)
def aging_rows(path: str, as_of: dt.date) -> list[tuple]:
    """(bucket, currency, owed amount) for the aging chart."""
    with _open(path).cursor() as con:
        return aging.aging_long(con, as_of)


@st.cache_data(show_spinner=False, max_entries=4)
def customer_listing(path: str) -> list[dict[str, Any]]:
    """Every customer's number, name and review flag, for pickers."""
    with _open(path).cursor() as con:
        return customers.listing(con)


@st.cache_data(show_spinner=False, max_entries=4)
def import_history(path: str) -> pd.DataFrame:
    """The latest imports, newest first."""
    with _open(path).cursor() as con:
        return pd.DataFrame(importing.history(con))


# ---------------------------------------------------------------------------
# Display


def page_offset(count: int, key: str, noun: str) -> int:
    """A page number when `count` rows fill more than one page; the first row's
    offset into them."""
    pages = max(1, math.ceil(count / PAGE_SIZE))
    if st.session_state.get(key, 1) > pages:
        st.session_state[key] = 1
    if pages == 1:
        return 0
    number = st.number_input(
        f"Page (of {pages}, {PAGE_SIZE} {noun} a page)",
        min_value=1,
        max_value=pages,
        key=key,
        width=260,
    )
    return (number - 1) * PAGE_SIZE


def paged(rows: list, key: str, noun: str) -> list:
    """One page of at most PAGE_SIZE of the rows, with a page number when needed."""
    start = page_offset(len(rows), key, noun)
    return rows[start : start + PAGE_SIZE]


def money_cell(value: Any, currency: str, language: str | None = "fr") -> str:
    """An amount for a display table: empty for a missing value (None or NaN)."""
    if value is None or (not isinstance(value, Decimal) and pd.isna(value)):
        return ""
    return formatting.money(value, currency, language)


def money_column(label: str, **options: Any):
    """A column of amounts written as text (the reader's way, with the currency),
    right-aligned so that the digits of a column line up as in a ledger."""
    return st.column_config.TextColumn(label, alignment="right", **options)


def date_column(label: str, language: str | None = "fr", **options: Any):
    """A column of dates written the way formatting.date writes them."""
    pattern = DATE_COLUMN_FORMATS.get((language or "fr").lower(), "DD/MM/YYYY")
    return st.column_config.DateColumn(label, format=pattern, **options)


def markdown_text(value: Any) -> str:
    """A value from the workspace, safe to show inside Markdown, on one line."""
    text = " ".join(str(value).split()) if value is not None else ""
    if not text:
        return "—"
    return _MARKDOWN_SPECIALS.sub(r"\\\1", text)


def customer_label(number: str, name: str | None) -> str:
    """How a customer is named in pickers: number — name."""
    return f"{number} — {name}" if name else number

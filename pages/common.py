"""What every page shares: the workspace connection, the as-of date, cached read-only
frames, money formatting and the one way a page shows an error."""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal
from typing import Any

import duckdb
import pandas as pd
import streamlit as st
from babel import numbers as babel_numbers

from dunning import aging, clock, customers, importing, ledger, store
from dunning.errors import DunningError

PAGE_ACCOUNTS = "pages/accounts.py"
PAGE_CUSTOMER = "pages/customer.py"
PAGE_IMPORT = "pages/import_file.py"

# A page never sends more rows than this to the browser (DESIGN 16).
PAGE_SIZE = 500

# Babel locale of each customer language; money reads the French way by default.
LOCALES = {"fr": "fr_FR", "en": "en_GB"}
BUCKET_LABELS = dict(ledger.BUCKETS)

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


def as_of() -> dt.date:
    """The as-of date chosen in the sidebar, today until one is chosen."""
    value = st.session_state.get("as_of")
    return value if isinstance(value, dt.date) else clock.today()


def show_error(error: DunningError) -> None:
    """The one way a page reports a failure the user can act on."""
    st.error(f"**{error.title}.** {error}")


def data_changed() -> None:
    """Forget every cached frame: called after any write to the workspace."""
    st.cache_data.clear()


def open_customer(number: str) -> None:
    """Show the customer record of one customer."""
    st.session_state["customer"] = number
    st.switch_page(PAGE_CUSTOMER)


# ---------------------------------------------------------------------------
# Cached read-only frames, keyed by workspace file and as-of date


@st.cache_data(show_spinner=False, max_entries=8)
def accounts(path: str, as_of: dt.date) -> pd.DataFrame:
    """Balance, overdue and aging per customer and currency (floats: display only)."""
    with _open(path).cursor() as con:
        return aging.by_customer_currency(con, as_of).df()


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


def paged(frame: pd.DataFrame, key: str, noun: str) -> pd.DataFrame:
    """One page of at most PAGE_SIZE rows, with a page number when there are more."""
    pages = max(1, math.ceil(len(frame) / PAGE_SIZE))
    if pages == 1:
        return frame
    if st.session_state.get(key, 1) > pages:
        st.session_state[key] = 1
    number = st.number_input(
        f"Page (of {pages}, {PAGE_SIZE} {noun} a page)",
        min_value=1,
        max_value=pages,
        key=key,
        width=260,
    )
    start = (number - 1) * PAGE_SIZE
    return frame.iloc[start : start + PAGE_SIZE]


def money(value: Decimal | float | None, currency: str, language: str = "fr") -> str:
    """An amount written for a reader, e.g. '1 234,56 €' (display only)."""
    if value is None or pd.isna(value):
        return ""
    locale = LOCALES.get(language or "fr", LOCALES["fr"])
    return babel_numbers.format_currency(value, currency, locale=locale)


def markdown_text(value: Any) -> str:
    """A value from the workspace, safe to show inside Markdown."""
    if value is None or value == "":
        return "—"
    return _MARKDOWN_SPECIALS.sub(r"\\\1", str(value))


def customer_label(number: str, name: str | None) -> str:
    """How a customer is named in pickers: number — name."""
    return f"{number} — {name}" if name else number

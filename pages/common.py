"""What every page shares: the workspace connection, the as-of date, cached read-only
results, display helpers and the one way a page shows an error."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math
import re
import zlib
from decimal import Decimal
from typing import Any

import duckdb
import pandas as pd
import streamlit as st

from dunning import (
    aging,
    basket,
    clock,
    customers,
    exporting,
    formatting,
    importing,
    ledger,
    penalties,
    search,
    store,
)
from dunning.errors import DunningError

PAGE_ACCOUNTS = "pages/accounts.py"
PAGE_ACTIONS = "pages/actions.py"
PAGE_CAMPAIGNS = "pages/campaigns.py"
PAGE_CUSTOMER = "pages/customer.py"
PAGE_DASHBOARD = "pages/dashboard.py"
PAGE_IMPORT = "pages/import_file.py"
PAGE_SEARCH = "pages/search.py"
PAGE_SETTINGS = "pages/settings.py"
PAGE_TEMPLATES = "pages/templates.py"

# A page never sends more rows than this to the browser (DESIGN 16).
PAGE_SIZE = 500
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

BUCKET_LABELS = dict(ledger.BUCKETS)
# The way formatting.date writes a date, in the table's own (momentJS) notation, so
# a date column keeps sorting as a date and reads like the dates in the text.
DATE_COLUMN_FORMATS = {"fr": "DD/MM/YYYY", "en": "D MMM YYYY"}

_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")
# What Markdown, and Streamlit's additions to it, would read in a sentence: these
# characters anywhere ($ opens LaTeX, & an entity), `_` unless inside a word
# (`__mro__` is bold, `items_amount_selected` is not), `:` before a letter or `[`
# (`:smile:`, `:red[...]`), and at the start of a line what starts a heading, a list,
# a quote or a rule.
_MESSAGE_SPECIALS = re.compile(
    r"[\\`*$~\[\]<>|&]|(?<![^\W_])_|_(?![^\W_])|:(?=[A-Za-z\[])"
)
_MESSAGE_LINE_START = re.compile(r"^([ \t]*\d*)([#+\-=.)])", re.MULTILINE)


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
    st.error(error_text(error))


def error_text(error: DunningError) -> str:
    """A failure as st.error shows it: its title in bold, its message as written."""
    return f"**{error.title}.** {message_text(str(error))}"


def message_text(text: Any) -> str:
    """A sentence holding values from the workspace or a template, for st.error,
    st.warning, st.info, st.caption or st.markdown: shown as written.

    Only what Markdown would read is escaped, and underscores inside a word are
    left alone, so the text stays the same to the eye and to a search: the
    template problem "the attribute '__mro__' is not allowed" keeps its
    underscores instead of turning 'mro' bold, "US$1.00 + US$2.00" is no formula.
    Line breaks are kept (markdown_text writes a value on one line).
    """
    escaped = _MESSAGE_SPECIALS.sub(lambda m: "\\" + m.group(0), str(text))
    return _MESSAGE_LINE_START.sub(r"\1\\\2", escaped)


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


def show_table(frame: pd.DataFrame, **options: Any) -> None:
    """A read-only display table: no index, and a missing value (a credit note's
    days late, an item without reference) left blank rather than written "None"."""
    st.dataframe(frame, hide_index=True, placeholder="", **options)


def markdown_text(value: Any) -> str:
    """A value from the workspace, safe to show inside Markdown, on one line."""
    text = " ".join(str(value).split()) if value is not None else ""
    if not text:
        return "—"
    return _MARKDOWN_SPECIALS.sub(r"\\\1", text)


def customer_label(number: str, name: str | None) -> str:
    """How a customer is named in pickers: number — name."""
    return f"{number} — {name}" if name else number


# ---------------------------------------------------------------------------
# Search and the selection basket, shared by the Search page and the customer
# record; each page keeps its filters, sort and page under a prefix of its own.

BASKET = "basket"  # the selection: a frozenset of item ids, never row positions
BASKET_VERSION = "basket_version"  # bumped when the basket changes outside a table
BASKET_CHECKED = "basket_checked"  # the workspace version the basket was pruned at
BASKET_NOTICE = "basket_notice"

SEARCH_DEFAULT = search.to_json(search.Filters())
SEARCH_WIDTH = 210
SMALL_WIDTH = 125  # dates, days and amounts
DATE_MIN, DATE_MAX = dt.date(1990, 1, 1), dt.date(2100, 12, 31)
DOC_TYPE_LABELS = {
    "invoice": "Invoice",
    "credit_note": "Credit note",
    "payment": "Payment",
    "adjustment": "Adjustment",
}
SORT_LABELS = {
    "due_date": "Due date",
    "days_late": "Days late",
    "open_amount": "Open amount",
    "amount": "Amount",
    "issue_date": "Issue date",
    "customer_number": "Customer number",
    "customer_name": "Customer name",
    "doc_number": "Document",
    "doc_type": "Document type",
    "currency": "Currency",
    "status": "Status",
    "reference": "Reference",
    "segment": "Segment",
    "account_manager": "Account manager",
    "item_id": "Import order",
}


@st.cache_data(show_spinner=False, max_entries=64)
def search_result(
    path: str, as_of: dt.date, filters: str, sort: str, descending: bool, offset: int
) -> search.Result:
    """Count and totals of every match and one page of rows (filters as JSON)."""
    with _open(path).cursor() as con:
        return search.run(
            con,
            search.from_json(filters),
            as_of,
            limit=PAGE_SIZE,
            offset=offset,
            sort=sort,
            descending=descending,
        )


def kept(key: str, default: Any) -> str:
    """A widget key whose value survives a visit to another page.

    Streamlit forgets the state of a widget that a run does not draw; a plain
    copy of it is kept beside and put back when the widget is drawn again.
    """
    mirror = f"{key}__kept"
    if key in st.session_state:
        st.session_state[mirror] = st.session_state[key]
    else:
        st.session_state[key] = st.session_state.get(mirror, default)
    return key


def _set_kept(key: str, value: Any) -> None:
    st.session_state[key] = value
    st.session_state[f"{key}__kept"] = value


def applied_filters(prefix: str) -> search.Filters:
    """The filters last applied on this page (all open items at first)."""
    return search.from_json(st.session_state.get(f"{prefix}_filters", SEARCH_DEFAULT))


def apply_filters(prefix: str, filters: search.Filters) -> None:
    """Make these the page's filters and go back to its first page of rows."""
    st.session_state[f"{prefix}_filters"] = search.to_json(filters)
    _set_kept(f"{prefix}_page", 1)


def restricted(filters: search.Filters, customer: str | None) -> search.Filters:
    """The filters limited to one customer (the customer record), or as they are."""
    return dataclasses.replace(filters, customer=[customer]) if customer else filters


def search_form(
    prefix: str, choices: dict[str, list[str]], customer: str | None = None
) -> search.Filters:
    """Every filter of the search in one form; the applied filters it leaves.

    With a customer, the form leaves out the filters that choose customers and
    the search is restricted to that one. A submitted set of filters that cannot
    run (a refused expert expression, an amount that is not a number) shows one
    error and the applied filters, and so the results, stay as they were.
    """
    current = applied_filters(prefix)
    with st.form(f"{prefix}_search_form"):
        values = _filter_widgets(current, choices, customers=customer is None)
        submitted = st.form_submit_button("Search", type="primary")
    if submitted:
        try:
            wanted = search.normalised(dataclasses.replace(current, **values))
            _check_runs(prefix, restricted(wanted, customer))
        except DunningError as error:
            show_error(error)
        else:
            apply_filters(prefix, wanted)
    return restricted(applied_filters(prefix), customer)


def _check_runs(prefix: str, filters: search.Filters) -> None:
    """Run the search once (its first page is cached for the results)."""
    search.to_sql(filters)  # unknown choices and harmful expressions, before SQL
    sort, descending = sort_of(prefix)
    search_result(
        workspace_path(), as_of(), search.to_json(filters), sort, descending, 0
    )


def _filter_widgets(
    current: search.Filters, choices: dict[str, list[str]], customers: bool
) -> dict[str, Any]:
    """The form's widgets, showing the applied filters; their values by filter.

    Four rows: who (customers, currency), what (type, status, aging), when (dates,
    days late), how much and which words; the expert condition folds away.
    """
    values: dict[str, Any] = {}
    with st.container(horizontal=True, vertical_alignment="bottom"):
        if customers:
            values["customer_text"] = st.text_input(
                "Customer number or name",
                value=current.customer_text or "",
                placeholder="C00027 or Dupont",
                width=SEARCH_WIDTH,
            )
            values["segment"] = _pick("Segment", choices["segments"], current.segment)
            values["account_manager"] = _pick(
                "Account manager", choices["managers"], current.account_manager
            )
        values["currency"] = _pick("Currency", choices["currencies"], current.currency)
    with st.container(horizontal=True, vertical_alignment="bottom"):
        values["doc_type"] = _pick(
            "Document type", search.DOC_TYPES, current.doc_type, DOC_TYPE_LABELS
        )
        values["status"] = _pick("Status", search.STATUSES, current.status)
        values["bucket"] = _pick(
            "Aging bucket", list(BUCKET_LABELS), current.bucket, BUCKET_LABELS
        )
    with st.container(horizontal=True, vertical_alignment="bottom"):
        for name, label in (
            ("issue_from", "Issued from"),
            ("issue_to", "Issued until"),
            ("due_from", "Due from"),
            ("due_to", "Due until"),
        ):
            values[name] = _day(label, getattr(current, name))
        values["min_days_late"] = _days("Days late from", current.min_days_late)
        values["max_days_late"] = _days("Days late up to", current.max_days_late)
    with st.container(horizontal=True, vertical_alignment="bottom"):
        values["min_amount"] = _amount("Open amount from", current.min_amount)
        values["max_amount"] = _amount("Open amount up to", current.max_amount)
        values["text"] = st.text_input(
            "Text in document number, reference or name",
            value=current.text or "",
            placeholder="maint",
            width=2 * SEARCH_WIDTH,
        )
        values["action_since"] = _day("Had an action since", current.action_since)
        values["no_action_since"] = _day("No action since", current.no_action_since)
    with st.expander("Expert mode: a DuckDB condition", expanded=bool(current.where)):
        values["where"] = st.text_area(
            "Condition (DuckDB SQL)",
            value=current.where or "",
            placeholder="days_late > 45 AND open_amount > 1000 "
            "AND reference ILIKE '%maint%'",
            help="A boolean expression over the columns " + ", ".join(search.COLUMNS),
            height=80,
        )
    return {
        name: (value.strip() or None) if isinstance(value, str) else value
        for name, value in values.items()
    }


def _pick(label: str, options, chosen: list[str], labels: dict | None = None):
    options = list(options)
    return st.multiselect(
        label,
        options,
        default=[value for value in chosen if value in options],
        format_func=lambda value: (labels or {}).get(value, value),
        placeholder="All",
        disabled=not options,
        width=SEARCH_WIDTH,
    )


def _day(label: str, value: dt.date | None):
    return st.date_input(
        label,
        value=value,
        min_value=DATE_MIN,
        max_value=DATE_MAX,
        format="YYYY-MM-DD",
        width=SMALL_WIDTH + 15,
    )


def _days(label: str, value: int | None):
    return st.number_input(label, value=value, min_value=0, step=1, width=SMALL_WIDTH)


def _amount(label: str, value: Decimal | None) -> str:
    """Amounts are typed as text and read as Decimal by dunning, never as floats."""
    return st.text_input(
        label,
        value="" if value is None else str(value),
        placeholder="1000 or 1 000,50",
        width=SMALL_WIDTH + 25,
    )


def sort_of(prefix: str) -> tuple[str, bool]:
    sort = st.session_state.get(f"{prefix}_sort__kept", "due_date")
    sort = st.session_state.get(f"{prefix}_sort", sort)
    descending = st.session_state.get(f"{prefix}_descending__kept", False)
    return sort, bool(st.session_state.get(f"{prefix}_descending", descending))


def _first_page(prefix: str) -> None:
    _set_kept(f"{prefix}_page", 1)


def sort_pickers(prefix: str) -> tuple[str, bool]:
    """The column the rows are sorted by and its direction (sorted in SQL)."""
    with st.container(horizontal=True, vertical_alignment="bottom"):
        sort = st.selectbox(
            "Sort by",
            list(SORT_LABELS),
            format_func=SORT_LABELS.get,
            key=kept(f"{prefix}_sort", "due_date"),
            on_change=_first_page,
            args=(prefix,),
            width=SEARCH_WIDTH,
        )
        descending = st.toggle(
            "Largest / latest first",
            key=kept(f"{prefix}_descending", False),
            on_change=_first_page,
            args=(prefix,),
        )
    return sort, descending


def search_page_of_rows(
    prefix: str, path: str, as_of: dt.date, filters: search.Filters
) -> tuple[search.Result, int]:
    """The search at the page of rows the user is on, and that page's offset."""
    sort, descending = sort_pickers(prefix)
    key = kept(f"{prefix}_page", 1)
    offset = (st.session_state[key] - 1) * PAGE_SIZE
    text = search.to_json(filters)
    result = search_result(path, as_of, text, sort, descending, offset)
    if offset and not result.rows:  # fewer matches now: back to the first page
        _set_kept(key, 1)
        offset = 0
        result = search_result(path, as_of, text, sort, descending, offset)
    st.session_state[f"{prefix}_view"] = text  # what "select all matches" takes
    return result, offset


def show_matches(result: search.Result, offset: int, language: str, noun: str):
    """The count and per-currency open amount of every match, and which are shown."""
    with st.container(horizontal=True, gap="small"):
        st.metric("Matching items", result.count, border=True, width="content")
        for currency, total in result.totals.items():
            st.metric(
                f"Matching {currency}",
                formatting.money(total, currency, language),
                border=True,
                width="content",
            )
    if result.count > len(result.rows):
        st.caption(
            f"Showing {noun} {offset + 1}–{offset + len(result.rows)} of "
            f"{result.count}. Tick rows to put them in the basket."
        )
    elif result.count:
        st.caption("Tick rows to put them in the basket; untick to take them out.")


def basket_table(
    prefix: str, frame: pd.DataFrame, rows: list[dict[str, Any]], **options: Any
) -> None:
    """One page of rows whose ticks put items in the basket and take them out.

    The table reports positions into this frame only, and forgets them when its
    rows change: they become item ids at once. The table's key names the page of
    rows and the basket's version, so a new page (or a basket changed by a button)
    starts from the basket's own ticks, and a page seen again shows them too.
    """
    selected = basket_ids()
    page_ids = [int(row["item_id"]) for row in rows]
    version = st.session_state.get(BASKET_VERSION, 0)
    digest = zlib.crc32(repr((version, page_ids)).encode())
    key = f"{prefix}_rows_{digest:08x}"
    ticked_before = basket.positions(selected, page_ids)
    event = st.dataframe(
        frame,
        key=key,
        on_select="rerun",
        selection_mode="multi-row",
        selection_default={"selection": {"rows": ticked_before}},
        hide_index=True,
        placeholder="",
        **options,
    )
    now = basket.ids_at(rows, event.selection.rows)
    seen = st.session_state.get(f"{prefix}_ticks")
    before = seen["ids"] if seen and seen["key"] == key else None
    if before is None:
        before = [page_ids[position] for position in ticked_before]
    st.session_state[f"{prefix}_ticks"] = {"key": key, "ids": now}
    if set(now) != set(before):
        set_basket(basket.ticked(selected, before, now), from_table=True)


def basket_ids() -> frozenset[int]:
    """The selection basket, less the items an import closed since it was read.

    Checked again whenever an import changed the workspace; the items that left
    are named in a notice the basket panel shows once.
    """
    selected = st.session_state.get(BASKET, basket.EMPTY)
    with cursor() as con:
        version = basket.workspace_version(con)
        if selected and st.session_state.get(BASKET_CHECKED) != version:
            day = as_of()
            selected, dropped = basket.prune(con, selected, day)
            notice = basket.notice(dropped, day)
            if notice:
                st.session_state[BASKET_NOTICE] = notice
            set_basket(selected)
    st.session_state[BASKET_CHECKED] = version
    return selected


def set_basket(selected: frozenset[int], from_table: bool = False) -> None:
    """Keep the new basket; a change not made by ticks redraws the tables' ticks."""
    st.session_state[BASKET] = frozenset(selected)
    if not from_table:
        st.session_state[BASKET_VERSION] = st.session_state.get(BASKET_VERSION, 0) + 1


@st.cache_data(show_spinner=False, max_entries=16)
def basket_penalties(
    path: str, as_of: dt.date, selected: tuple[int, ...]
) -> dict[str, penalties.Totals]:
    """Penalties on the basket per currency (every customer's rule), as Decimal."""
    with _open(path).cursor() as con:
        return basket.penalty_totals(con, frozenset(selected), as_of)


def basket_panel(
    prefix: str, path: str, as_of: dt.date, workspace_language: str | None = None
) -> None:
    """The basket: its count, what this view hides, running totals and penalties
    per currency, its buttons and its statement as a file.

    The basket holds items of every customer, so its figures are written in the
    workspace's language (language()), never in the language of the customer
    whose record shows it; a caller that already read the workspace's language
    may pass it.
    """
    written_in = workspace_language or language()
    selected = basket_ids()
    view = search.from_json(st.session_state.get(f"{prefix}_view", SEARCH_DEFAULT))
    with _open(path).cursor() as con:
        figures = basket.summary(con, selected, view, as_of)
    try:
        fines, failed = basket_penalties(path, as_of, tuple(sorted(selected))), None
    except DunningError as error:
        fines, failed = {}, error
    with st.container(border=True):
        st.markdown("**Selection basket**")
        if failed:
            show_error(failed)
        notice = st.session_state.pop(BASKET_NOTICE, None)
        if notice:
            st.warning(message_text(notice))
        show_flash(f"{prefix}_basket")
        with st.container(horizontal=True, gap="small"):
            st.metric("In basket", figures.count, width="content")
            st.metric("Hidden by this view", figures.hidden, width="content")
            for currency, total in figures.totals.items():
                st.metric(
                    f"Basket {currency}",
                    formatting.money(total, currency, written_in),
                    width="content",
                )
            for currency, t in fines.items():
                st.metric(
                    f"Penalties {currency}",
                    formatting.money(t.penalties, currency, written_in),
                    help="Interest and fixed indemnities on the basket's items at "
                    "the as-of date, each customer under its own rule; disputed "
                    "and litigation items bear none.",
                    width="content",
                )
        ticks = st.session_state.get(f"{prefix}_ticks") or {"ids": []}
        with st.container(horizontal=True):
            st.button(
                "Select all matches",
                key=f"{prefix}_select_all",
                on_click=_select_all,
                args=(prefix,),
                help="Every item the search matches, on every page of rows.",
            )
            st.button(
                "Remove the ticked",
                key=f"{prefix}_remove_ticked",
                on_click=_remove_ticked,
                args=(prefix,),
                disabled=not ticks["ids"],
                help="Take the rows ticked on this page out of the basket.",
            )
            st.button(
                "Clear basket",
                key=f"{prefix}_clear_basket",
                on_click=set_basket,
                args=(basket.clear(),),
                disabled=not selected,
            )
            basket_downloads(prefix, selected, as_of)


def basket_downloads(prefix: str, selected: frozenset[int], as_of: dt.date) -> None:
    """The basket's statement as CSV or XLSX, written only when clicked."""
    con = connection()
    for suffix, label, mime in (
        (".csv", "Download the basket (CSV)", "text/csv"),
        (".xlsx", "Download the basket (XLSX)", XLSX_MIME),
    ):
        st.download_button(
            label,
            # Written on the click, on a thread of its own (with its own cursor).
            data=functools.partial(
                exporting.basket_file, con, sorted(selected), as_of, suffix
            ),
            file_name=f"basket_{as_of:%Y-%m-%d}{suffix}",
            mime=mime,
            key=f"{prefix}_basket_download{suffix}",
            on_click="ignore",
            disabled=not selected
            or (suffix == ".xlsx" and len(selected) >= exporting.XLSX_MAX_ROWS),
            help="The basket's items open at the as-of date, by due date.",
        )


def _select_all(prefix: str) -> None:
    view = search.from_json(st.session_state.get(f"{prefix}_view", SEARCH_DEFAULT))
    try:
        with cursor() as con:
            selected = basket.select_all(con, basket_ids(), view, as_of())
    except DunningError as error:
        flash(f"{prefix}_basket", error)
    else:
        set_basket(selected)


def _remove_ticked(prefix: str) -> None:
    ticks = st.session_state.get(f"{prefix}_ticks") or {"ids": []}
    set_basket(basket.remove(basket_ids(), ticks["ids"]))
    st.session_state[f"{prefix}_ticks"] = None


def flash(place: str, message: DunningError | str, kind: str = "error") -> None:
    """A message from a callback, shown at its place on the run that follows."""
    if isinstance(message, DunningError):
        text = error_text(message)
    else:
        text = message_text(message)
    st.session_state[f"{place}_flash"] = (kind, text)


def show_flash(place: str) -> None:
    """The message a callback left for this place, once."""
    kind, message = st.session_state.pop(f"{place}_flash", (None, None))
    if kind:
        getattr(st, kind)(message)

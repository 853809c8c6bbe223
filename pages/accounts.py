"""Accounts: every customer's balance, overdue amount and aging at the as-of date."""

from __future__ import annotations

import math

import pandas as pd
import plotly.express as px
import streamlit as st

from dunning import ledger
from dunning.errors import DunningError
from pages import common

MONEY_COLUMNS = ["balance", "overdue", *(key for key, _ in ledger.BUCKETS)]
COLUMNS = [
    "customer_number",
    "name",
    "currency",
    "balance",
    "overdue",
    "oldest_due_date",
    "max_days_late",
    "items_open",
    "items_overdue",
    *(key for key, _ in ledger.BUCKETS),
    "segment",
    "account_manager",
]
SORTS = {
    "Overdue, largest first": ("overdue", False),
    "Balance, largest first": ("balance", False),
    "Oldest due date first": ("oldest_due_date", True),
    "Most days late first": ("max_days_late", False),
    "Customer number": ("customer_number", True),
    "Name": ("name", True),
}
# Owed buckets from safe to worrying, in the colours a reader expects.
CHART_COLOURS = {
    "not_due": "#4c9a2a",
    "d1_30": "#f2c14e",
    "d31_60": "#f78154",
    "d61_90": "#d1495b",
    "d91_plus": "#8c1c13",
    "no_due_date": "#9e9e9e",
}
FILTER_COLUMNS = {
    "segment": "segments",
    "account_manager": "managers",
    "currency": "currencies",
}
FILTER_KEYS = {
    "text": "",
    "segments": [],
    "managers": [],
    "currencies": [],
    "overdue_only": False,
    "sort": next(iter(SORTS)),
}


def main() -> None:
    path, as_of = common.workspace_path(), common.as_of()
    st.title("Accounts")
    st.caption(f"Open items at {as_of:%Y-%m-%d}, per customer and currency.")

    # Workspace totals and the aging chart side by side.
    frame = common.accounts(path, as_of)
    if frame.empty:
        st.info("No open item at this date. Import a ledger on the Import page.")
        return
    left, right = st.columns([2, 3])
    with left:
        show_totals(common.totals(path, as_of))
    with right:
        show_chart(common.aging_rows(path, as_of))

    # The filtered table, one page at a time, each row opening its record.
    filters = filter_form(frame)
    shown = filtered(frame, filters)
    st.caption(f"{len(shown)} of {len(frame)} customer accounts match the filters.")
    window = page_of(shown)
    show_table(window)
    open_picker(window)


def show_totals(totals: dict) -> None:
    """Balance and overdue per currency: never one total across currencies."""
    st.subheader("Totals")
    for currency, figures in totals.items():
        balance, overdue = st.columns(2)
        balance.metric(
            f"Balance {currency}",
            common.money(figures["balance"], currency),
            border=True,
        )
        overdue.metric(
            f"Overdue {currency}",
            common.money(figures["overdue"], currency),
            border=True,
        )


def show_chart(rows: list[tuple]) -> None:
    """Owed amounts per currency, stacked by aging bucket."""
    if not rows:
        return
    chart = pd.DataFrame(rows, columns=["bucket", "Currency", "amount"])
    chart = chart[chart["bucket"].isin(CHART_COLOURS)]
    chart["Bucket"] = chart["bucket"].map(common.BUCKET_LABELS)
    chart["Owed"] = [
        common.money(a, c)
        for a, c in zip(chart["amount"], chart["Currency"], strict=True)
    ]
    # Floats for plotting only; the figures shown are the Decimal texts above.
    chart["Amount"] = chart["amount"].astype(float)
    figure = px.bar(
        chart,
        x="Currency",
        y="Amount",
        color="Bucket",
        barmode="stack",
        category_orders={
            "Bucket": [common.BUCKET_LABELS[key] for key in CHART_COLOURS]
        },
        color_discrete_map={
            common.BUCKET_LABELS[key]: colour for key, colour in CHART_COLOURS.items()
        },
        hover_data={"Owed": True, "Amount": False},
        title="Aging of owed amounts",
    )
    figure.update_layout(height=320, margin={"t": 40, "b": 10}, legend_title=None)
    st.plotly_chart(figure, width="stretch")


def filter_form(frame: pd.DataFrame) -> dict:
    """Filters grouped in one form; applied values survive page switches."""
    applied = st.session_state.setdefault("accounts_filters", dict(FILTER_KEYS))
    with st.form("accounts_filter_form"):
        text, segment, manager, currency, options = st.columns([3, 2, 2, 2, 2])
        values = {
            "text": text.text_input(
                "Customer number or name", value=applied["text"], placeholder="C00027"
            ),
            "segments": _multiselect(segment, "Segment", frame, "segment", applied),
            "managers": _multiselect(
                manager, "Account manager", frame, "account_manager", applied
            ),
            "currencies": _multiselect(
                currency, "Currency", frame, "currency", applied
            ),
            "sort": options.selectbox(
                "Sort by", list(SORTS), index=list(SORTS).index(applied["sort"])
            ),
            "overdue_only": options.checkbox(
                "Overdue only", value=applied["overdue_only"]
            ),
        }
        if st.form_submit_button("Apply filters"):
            st.session_state["accounts_filters"] = values
            st.session_state["accounts_page"] = 1
            applied = values
    return applied


def _multiselect(where, label: str, frame: pd.DataFrame, column: str, applied: dict):
    """A multiselect of the values of one column, keeping the applied ones."""
    choices = sorted(frame[column].dropna().unique().tolist())
    state = FILTER_COLUMNS[column]
    default = [value for value in applied[state] if value in choices]
    return where.multiselect(label, choices, default=default)


def filtered(frame: pd.DataFrame, filters: dict) -> pd.DataFrame:
    """The accounts matching the filters, in the chosen order."""
    keep = pd.Series(True, index=frame.index)
    text = filters["text"].strip().casefold()
    if text:
        keep &= frame["customer_number"].str.casefold().str.contains(
            text, regex=False
        ) | frame["name"].fillna("").str.casefold().str.contains(text, regex=False)
    for column, state in FILTER_COLUMNS.items():
        chosen = filters[state]
        if chosen:
            keep &= frame[column].isin(chosen)
    if filters["overdue_only"]:
        keep &= frame["items_overdue"] > 0
    column, ascending = SORTS[filters["sort"]]
    return frame[keep].sort_values(
        [column, "customer_number"], ascending=[ascending, True], na_position="last"
    )


def page_of(shown: pd.DataFrame) -> pd.DataFrame:
    """One page of at most PAGE_SIZE accounts, with a page number when needed."""
    pages = max(1, math.ceil(len(shown) / common.PAGE_SIZE))
    if pages == 1:
        return shown
    if st.session_state.get("accounts_page", 1) > pages:
        st.session_state["accounts_page"] = 1
    number = st.number_input(
        f"Page (of {pages}, {common.PAGE_SIZE} accounts a page)",
        min_value=1,
        max_value=pages,
        key="accounts_page",
    )
    start = (number - 1) * common.PAGE_SIZE
    return shown.iloc[start : start + common.PAGE_SIZE]


def show_table(window: pd.DataFrame) -> None:
    """The accounts table; selecting a row opens that customer's record."""
    money = st.column_config.NumberColumn
    config = {
        "customer_number": st.column_config.TextColumn("Customer", pinned=True),
        "name": st.column_config.TextColumn("Name"),
        "currency": st.column_config.TextColumn("Cur."),
        "balance": money("Balance", format="accounting"),
        "overdue": money("Overdue", format="accounting"),
        "oldest_due_date": st.column_config.DateColumn(
            "Oldest due date", format="YYYY-MM-DD"
        ),
        "max_days_late": st.column_config.NumberColumn("Days late", format="%d"),
        "items_open": st.column_config.NumberColumn("Open items", format="%d"),
        "items_overdue": st.column_config.NumberColumn("Overdue items", format="%d"),
        "segment": st.column_config.TextColumn("Segment"),
        "account_manager": st.column_config.TextColumn("Account manager"),
    }
    for key, label in ledger.BUCKETS:
        config[key] = money(label, format="accounting")
    event = st.dataframe(
        window,
        column_order=COLUMNS,
        column_config=config,
        hide_index=True,
        placeholder="",
        on_select="rerun",
        selection_mode="single-row",
        key="accounts_table",
    )
    rows = event.selection.rows
    if rows:
        common.open_customer(window.iloc[rows[0]]["customer_number"])


def open_picker(window: pd.DataFrame) -> None:
    """A second way to a record: pick a customer of this page and open it."""
    names = dict(zip(window["customer_number"], window["name"], strict=True))
    choice, button = st.columns([4, 1], vertical_alignment="bottom")
    number = choice.selectbox(
        "Open a customer record",
        list(names),
        index=None,
        format_func=lambda n: common.customer_label(n, names[n]),
        placeholder="Choose a customer of this page…",
        key="accounts_open_customer",
    )
    if button.button("Open record", disabled=number is None) and number:
        common.open_customer(number)


try:
    main()
except DunningError as error:
    common.show_error(error)

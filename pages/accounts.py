"""Accounts: every customer's balance, overdue amount and aging at the as-of date."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from dunning import ledger
from dunning.errors import DunningError
from pages import common

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
TOTALS_PER_ROW = 3
ROW_HEIGHT = 35
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

    # Workspace totals per currency, then the aging chart beside the filters.
    frame = common.accounts(path, as_of)
    if frame.empty:
        st.info("No open item at this date. Import a ledger on the Import page.")
        return
    show_totals(common.totals(path, as_of))
    chart, form = st.columns([3, 2], gap="large")
    with chart:
        show_chart(common.aging_rows(path, as_of))

    with form:
        filters = filter_form(frame)

    # The filtered table, one page at a time, each row opening its record.
    shown = filtered(frame, filters)
    st.caption(f"{len(shown)} of {len(frame)} customer accounts match the filters.")
    window = common.paged(shown, "accounts_page", "accounts")
    show_table(window)
    open_picker(window)


def show_totals(totals: dict) -> None:
    """Balance and overdue per currency: never one total across currencies."""
    currencies = list(totals.items())
    for start in range(0, len(currencies), TOTALS_PER_ROW):
        row = currencies[start : start + TOTALS_PER_ROW]
        for slot, (currency, figures) in zip(
            st.columns(TOTALS_PER_ROW), row, strict=False
        ):
            with slot.container(border=True):
                balance, overdue = figures["balance"], figures["overdue"]
                st.metric(f"Balance {currency}", common.money(balance, currency))
                st.metric(f"Overdue {currency}", common.money(overdue, currency))


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
    # Floats place the bars only; the hover shows the exact Decimal text.
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
    figure.update_layout(height=360, margin={"t": 40, "b": 10}, legend_title=None)
    st.plotly_chart(figure, width="stretch")


def filter_form(frame: pd.DataFrame) -> dict:
    """Filters grouped in one form; applied values survive page switches."""
    applied = st.session_state.setdefault("accounts_filters", dict(FILTER_KEYS))
    with st.form("accounts_filter_form"):
        values = {
            "text": st.text_input(
                "Customer number or name", value=applied["text"], placeholder="C00027"
            ),
        }
        segment, manager = st.columns(2)
        values["segments"] = _multiselect(segment, "Segment", frame, "segment", applied)
        values["managers"] = _multiselect(
            manager, "Account manager", frame, "account_manager", applied
        )
        currency, sort = st.columns(2)
        values["currencies"] = _multiselect(
            currency, "Currency", frame, "currency", applied
        )
        values["sort"] = sort.selectbox(
            "Sort by", list(SORTS), index=list(SORTS).index(applied["sort"])
        )
        values["overdue_only"] = st.checkbox(
            "Overdue accounts only", value=applied["overdue_only"]
        )
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
        height=ROW_HEIGHT * (min(len(window), 15) + 1) + 3,
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

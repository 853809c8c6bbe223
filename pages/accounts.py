"""Accounts: every customer's balance, overdue amount and aging at the as-of date."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from dunning import aging, formatting, ledger
from dunning.errors import DunningError
from pages import common

MONEY = ["balance", "overdue", *(key for key, _ in ledger.BUCKETS)]
COLUMNS = [
    "customer_number",
    "name",
    "balance",
    "overdue",
    "max_days_late",
    "oldest_due_date",
    "items_open",
    "items_overdue",
    *(key for key, _ in ledger.BUCKETS),
    "currency",
    "segment",
    "account_manager",
]
# Each choice of "Sort by": the domain's sort key and whether largest comes first.
SORT_CHOICES = [
    ("Overdue, largest first", "overdue", True),
    ("Balance, largest first", "balance", True),
    ("Most days late first", "max_days_late", True),
    ("Oldest due date first", "oldest_due_date", False),
    ("Customer number", "customer_number", False),
    ("Name", "name", False),
]
SORTS = {
    label: (key, descending)
    for label, key, descending in SORT_CHOICES
    if key in aging.ACCOUNT_SORTS
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
# Filters keep this width (pixels) and wrap onto more rows on a narrow screen
# instead of squeezing their labels.
FILTER_WIDTH = 230
ROW_HEIGHT = 35
FILTER_KEYS = {
    "text": "",
    "segments": [],
    "managers": [],
    "currencies": [],
    "overdue_only": False,
    "sort": next(iter(SORTS)),
}


def main() -> None:
    path, as_of, language = common.workspace_path(), common.as_of(), common.language()
    st.title("Accounts")
    day = formatting.date(as_of, language)
    st.caption(f"Open items at {day}, per customer and currency.")

    # Workspace totals per currency, the aging chart, then the filters.
    totals = common.totals(path, as_of)
    if not totals:
        st.info(
            f"No open item at {day}. Import a ledger on the **Import** page, or "
            "choose a later as-of date in the sidebar."
        )
        return
    show_totals(totals, language)
    show_chart(common.aging_rows(path, as_of), language)
    filters = filter_form(common.account_choices(path))

    # The matching accounts, filtered, sorted and paged by the workspace.
    count, rows = page_of_accounts(path, as_of, filters)
    if count == 0:
        st.info(
            "No account matches these filters. Clear the search text or the "
            "pickers, or untick *Overdue accounts only*."
        )
        return
    show_table(display_frame(rows, language), language)
    open_picker(rows)


def page_of_accounts(path: str, as_of, filters: dict) -> tuple[int, list[dict]]:
    """The count of matching accounts and the rows of the page the user is on."""
    key, descending = SORTS[filters["sort"]]
    query = (
        ("text", filters["text"]),
        ("segments", tuple(filters["segments"])),
        ("managers", tuple(filters["managers"])),
        ("currencies", tuple(filters["currencies"])),
        ("overdue_only", filters["overdue_only"]),
    )

    # The page asked for; back to the first when fewer accounts match now.
    page = st.session_state.get("accounts_page", 1)
    offset = (page - 1) * common.PAGE_SIZE
    count, rows = common.accounts(path, as_of, query, key, descending, offset)
    if offset and not rows:
        offset = 0
        count, rows = common.accounts(path, as_of, query, key, descending, offset)
    common.page_offset(count, "accounts_page", "accounts")  # the page number input

    shown = f"; showing {offset + 1}–{offset + len(rows)}" if count > len(rows) else ""
    st.caption(
        f"{count} account(s) match the filters (one per customer and currency)"
        f"{shown}. Order them with *Sort by*: a click on a column header only "
        "reorders the rows shown."
    )
    return count, rows


def show_totals(totals: dict, language: str) -> None:
    """Balance and overdue per currency, never one total across currencies; the
    boxes wrap onto more rows rather than cut an amount short."""
    with st.container(horizontal=True, gap="small"):
        for currency, figures in totals.items():
            with st.container(border=True, width="content"):
                st.metric(
                    f"Balance {currency}",
                    formatting.money(figures["balance"], currency, language),
                    width="content",
                )
                st.metric(
                    f"Overdue {currency}",
                    formatting.money(figures["overdue"], currency, language),
                    width="content",
                )


def show_chart(rows: list[tuple], language: str) -> None:
    """Owed amounts per currency, one bar each, stacked by aging bucket."""
    chart = pd.DataFrame(rows, columns=["bucket", "Currency", "amount"])
    chart = chart[chart["bucket"].isin(CHART_COLOURS)]
    if chart.empty:
        st.caption("Nothing owed at this date: no aging to chart.")
        return
    chart["Bucket"] = chart["bucket"].map(common.BUCKET_LABELS)
    chart["Owed"] = [
        formatting.money(a, c, language)
        for a, c in zip(chart["amount"], chart["Currency"], strict=True)
    ]
    # Floats place the bars only; the hover shows the exact Decimal text.
    chart["Amount"] = chart["amount"].astype(float)
    figure = px.bar(
        chart,
        x="Amount",
        y="Currency",
        color="Bucket",
        orientation="h",
        barmode="stack",
        category_orders={
            "Bucket": [common.BUCKET_LABELS[key] for key in CHART_COLOURS]
        },
        color_discrete_map={
            common.BUCKET_LABELS[key]: colour for key, colour in CHART_COLOURS.items()
        },
        hover_data={"Owed": True, "Amount": False},
    )
    currencies = chart["Currency"].nunique()
    figure.update_layout(
        height=110 + 55 * currencies,
        margin={"t": 10, "b": 10, "l": 10, "r": 10},
        legend={"orientation": "h", "title": None, "y": -0.35 - 0.05 / currencies},
        xaxis_title="Owed amount per aging bucket",
        yaxis_title=None,
    )
    st.markdown("**Aging of owed amounts**")
    st.plotly_chart(figure, width="stretch", config={"displayModeBar": False})


def filter_form(choices: dict[str, list[str]]) -> dict:
    """Filters grouped in one form; applied values survive page switches."""
    applied = st.session_state.setdefault("accounts_filters", dict(FILTER_KEYS))
    with (
        st.form("accounts_filter_form"),
        st.container(horizontal=True, vertical_alignment="bottom"),
    ):
        values = {
            "text": st.text_input(
                "Customer number or name",
                value=applied["text"],
                placeholder="C00027",
                width=FILTER_WIDTH,
            ),
            "segments": _multiselect("Segment", choices, "segments"),
            "managers": _multiselect("Account manager", choices, "managers"),
            "currencies": _multiselect("Currency", choices, "currencies"),
            "sort": st.selectbox(
                "Sort by",
                list(SORTS),
                index=list(SORTS).index(applied["sort"]),
                width=FILTER_WIDTH,
            ),
            "overdue_only": st.checkbox(
                "Overdue accounts only", value=applied["overdue_only"]
            ),
        }
        if st.form_submit_button("Apply filters", type="primary"):
            st.session_state["accounts_filters"] = values
            st.session_state["accounts_page"] = 1
            applied = values
    return applied


def _multiselect(label: str, choices: dict, name: str) -> list[str]:
    """A multiselect of the workspace's values, keeping the applied ones."""
    options = choices.get(name, [])
    applied = st.session_state["accounts_filters"][name]
    return st.multiselect(
        label,
        options,
        default=[value for value in applied if value in options],
        placeholder="All",
        disabled=not options,
        width=FILTER_WIDTH,
    )


def display_frame(rows: list[dict], language: str) -> pd.DataFrame:
    """The page of accounts as the table shows it: amounts written as text."""
    frame = pd.DataFrame(rows)
    for column in MONEY:
        frame[column] = [
            common.money_cell(row[column], row["currency"], language) for row in rows
        ]
    for column in ("max_days_late", "items_open", "items_overdue"):
        frame[column] = frame[column].astype("Int64")
    return frame[COLUMNS]


def show_table(window: pd.DataFrame, language: str) -> None:
    """The accounts table; selecting a row opens that customer's record."""
    config = {
        "customer_number": st.column_config.TextColumn("Customer", pinned=True),
        "name": st.column_config.TextColumn("Name", width="medium"),
        "balance": common.money_column("Balance"),
        "overdue": common.money_column("Overdue"),
        "max_days_late": st.column_config.NumberColumn("Days late", format="%d"),
        "oldest_due_date": common.date_column("Oldest overdue", language),
        "items_open": st.column_config.NumberColumn("Open items", format="%d"),
        "items_overdue": st.column_config.NumberColumn("Overdue items", format="%d"),
        "currency": st.column_config.TextColumn("Currency"),
        "segment": st.column_config.TextColumn("Segment"),
        "account_manager": st.column_config.TextColumn("Account manager"),
    }
    for key, label in ledger.BUCKETS:
        config[key] = common.money_column(label)
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
    st.caption("Select a row to open that customer's record.")
    selected = event.selection.rows
    if selected:
        common.open_customer(window.iloc[selected[0]]["customer_number"])


def open_picker(rows: list[dict]) -> None:
    """A second way to a record: pick a customer of this page and open it."""
    names = {row["customer_number"]: row["name"] for row in rows}
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

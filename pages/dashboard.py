"""Dashboard page: the charts a credit controller looks at, in one currency at a time,
narrowed to segments and account managers."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.express as px
import streamlit as st

from dunning import aging, dashboard, formatting, ledger
from pages import common

BUCKET_ORDER = [label for key, label in ledger.BUCKETS if key != "credits"]
CHART_HEIGHT = 340


@st.cache_data(show_spinner=False, max_entries=16)
def figures(path: str, as_of: dt.date, segments: tuple, managers: tuple) -> dict:
    """Every figure of the dashboard at once, for one scope and as-of date."""
    scope = dashboard.Scope(list(segments), list(managers))
    with common.connection().cursor() as con:
        return {
            "aging": dashboard.aging(con, as_of, scope),
            "top": dashboard.top_overdue(con, as_of, scope, limit=50),
            "trend": dashboard.overdue_trend(con, dashboard.trend_dates(as_of), scope),
            "actions": dashboard.actions_by_month(con, scope),
            "penalties": dashboard.penalties_claimed(con, scope),
            "choices": aging.choices(con),
        }


def scope_pickers(choices: dict) -> tuple[tuple, tuple, str | None]:
    left, middle, right = st.columns([2, 2, 1])
    segments = left.multiselect("Segments", choices["segments"], placeholder="All")
    managers = middle.multiselect(
        "Account managers", choices["managers"], placeholder="All"
    )
    currencies = choices["currencies"] or [common.default_currency()]
    default = common.default_currency()
    currency = right.selectbox(
        "Currency",
        currencies,
        index=currencies.index(default) if default in currencies else 0,
        help="Amounts in different currencies are never added: pick one.",
    )
    return tuple(segments), tuple(managers), currency


def amount_label(currency: str) -> str:
    return f"Amount ({currency})"


def aging_chart(rows: list, currency: str) -> None:
    st.subheader("Aging balance")
    labels = dict(ledger.BUCKETS)
    frame = pd.DataFrame(
        [(labels[b], float(a)) for b, c, a in rows if c == currency],
        columns=["Bucket", amount_label(currency)],
    )
    if frame.empty:
        st.info(f"No open amount in {currency}.")
        return
    figure = px.bar(
        frame,
        x="Bucket",
        y=amount_label(currency),
        category_orders={"Bucket": BUCKET_ORDER},
        color="Bucket",
        color_discrete_sequence=px.colors.sequential.OrRd[2:],
        height=CHART_HEIGHT,
    )
    figure.update_layout(showlegend=False, margin={"t": 10})
    st.plotly_chart(figure, width="stretch")


def top_chart(rows: list, currency: str, language: str) -> None:
    st.subheader("Top overdue customers")
    top = [row for row in rows if row["currency"] == currency][:10]
    if not top:
        st.info(f"No overdue amount in {currency}.")
        return
    frame = pd.DataFrame(
        {
            "Customer": [
                common.customer_label(r["customer_number"], r["name"]) for r in top
            ],
            amount_label(currency): [float(r["overdue"]) for r in top],
            "Overdue": [
                formatting.money(r["overdue"], currency, language) for r in top
            ],
            "Max days late": [r["max_days_late"] for r in top],
        }
    )
    figure = px.bar(
        frame,
        x=amount_label(currency),
        y="Customer",
        orientation="h",
        text="Overdue",
        hover_data=["Max days late"],
        height=CHART_HEIGHT,
    )
    figure.update_layout(yaxis={"autorange": "reversed"}, margin={"t": 10})
    st.plotly_chart(figure, width="stretch")


def trend_chart(rows: list, currency: str) -> None:
    st.subheader("Overdue over time")
    frame = pd.DataFrame(
        [
            (day, float(overdue), float(balance))
            for day, c, overdue, balance in rows
            if c == currency
        ],
        columns=["As-of date", "Overdue", "Balance"],
    )
    if frame.empty:
        st.info(f"No open amount in {currency} over the last months.")
        return
    long = frame.melt("As-of date", var_name="Figure", value_name="Amount")
    figure = px.line(
        long,
        x="As-of date",
        y="Amount",
        color="Figure",
        markers=True,
        labels={"Amount": amount_label(currency)},
        height=CHART_HEIGHT,
    )
    figure.update_layout(margin={"t": 10})
    st.plotly_chart(figure, width="stretch")


def actions_chart(rows: list) -> None:
    st.subheader("Actions by month")
    if not rows:
        st.info("No action yet: validate one from a customer record.")
        return
    frame = pd.DataFrame(rows, columns=["Month", "Type", "Status", "Actions"])
    by = st.radio("Colour by", ["Type", "Status"], horizontal=True)
    figure = px.bar(
        frame.groupby(["Month", by], as_index=False)["Actions"].sum(),
        x="Month",
        y="Actions",
        color=by,
        height=CHART_HEIGHT,
    )
    figure.update_layout(margin={"t": 10}, xaxis={"dtick": "M1"})
    st.plotly_chart(figure, width="stretch")


def penalties_chart(rows: list, currency: str) -> None:
    st.subheader("Penalties claimed")
    frame = pd.DataFrame(
        [(month, float(amount)) for month, c, amount in rows if c == currency],
        columns=["Month", amount_label(currency)],
    )
    if frame.empty:
        st.info(f"No penalty in {currency} claimed by an action carried out yet.")
        return
    figure = px.bar(frame, x="Month", y=amount_label(currency), height=CHART_HEIGHT)
    figure.update_layout(margin={"t": 10}, xaxis={"dtick": "M1"})
    st.plotly_chart(figure, width="stretch")


st.title("Dashboard")
as_of = common.as_of()
language = common.language()
st.caption(f"At {formatting.date(as_of, language)}")
choices = figures(common.workspace_path(), as_of, (), ())["choices"]
segments, managers, currency = scope_pickers(choices)
data = figures(common.workspace_path(), as_of, segments, managers)
left, right = st.columns(2)
with left:
    aging_chart(data["aging"], currency)
with right:
    top_chart(data["top"], currency, language)
left, right = st.columns(2)
with left:
    trend_chart(data["trend"], currency)
with right:
    penalties_chart(data["penalties"], currency)
actions_chart(data["actions"])

"""Customer record: details, payment terms, penalty settings, contacts, open items."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dunning import aging, customers, formatting, search
from dunning.errors import DunningError, InvalidValue
from pages import common

RULE_LABELS = {
    "fr_legal": "French legal rate",
    "de_legal": "German legal rate",
    "uk_legal": "UK statutory interest",
    "fixed": "Fixed annual rate",
    "none": "No penalty",
}
PREFIX = "customer"  # the record's search and page of rows (pages/common.py)
DETAILS = [
    ("Customer number", "customer_number"),
    ("Phone", "phone"),
    ("Address", "address"),
    ("Postal code and city", "city"),
    ("Country", "country"),
    ("Language", "language"),
    ("Currency", "currency"),
    ("Segment", "segment"),
    ("Account manager", "account_manager"),
]


def main() -> None:
    path, as_of = common.workspace_path(), common.as_of()
    listing = common.customer_listing(path)
    if not listing:
        st.title("Customer record")
        st.info("No customer yet. Import a ledger on the Import page.")
        return
    number = pick_customer(listing)
    con = common.cursor()
    record = customers.get(con, number)

    # Who the customer is and what they owe at the as-of date.
    st.title(record["name"] or number)
    if record["needs_review"]:
        st.warning(
            "This customer was created from items only: its details and settings "
            "are the workspace defaults. Check them and save to mark it reviewed."
        )
    show_balances(aging.of_customer(con, number, as_of), record, as_of)
    details, settings = st.columns(2, gap="large")
    with details:
        show_details(record)
        show_contacts(customers.contacts(con, number))
    with settings:
        settings_form(con, record)

    # What is open, and what cannot be dunned yet.
    show_open_items(customers.open_items(con, number, as_of), record, as_of)


def pick_customer(listing: list[dict]) -> str:
    """The customer shown: the one opened from another page, else the picker's."""
    names = {row["customer_number"]: row["name"] for row in listing}
    wanted = st.session_state.get("customer")
    if wanted not in names:
        wanted = st.session_state.get("customer_picker")
    if wanted not in names:
        wanted = next(iter(names))
    st.session_state["customer_picker"] = wanted
    st.selectbox(
        "Customer",
        list(names),
        format_func=lambda n: common.customer_label(n, names[n]),
        key="customer_picker",
        on_change=_picked,
    )
    st.session_state["customer"] = wanted
    return wanted


def _picked() -> None:
    st.session_state["customer"] = st.session_state["customer_picker"]


def show_balances(figures: list[dict], record: dict, as_of) -> None:
    """Balance and overdue of this customer, per currency (Decimal from dunning)."""
    language = record["language"]
    day = formatting.date(as_of, language)
    if not figures:
        st.info(f"Nothing open at {day}: no balance, nothing to chase.")
        return
    balance = {row["currency"]: row["balance"] for row in figures}
    overdue = {row["currency"]: row["overdue"] for row in figures}
    st.caption(
        f"Owes {formatting.totals(balance, language)} at {day}, of which "
        f"{formatting.totals(overdue, language)} overdue."
    )
    with st.container(horizontal=True, gap="small"):
        for row in figures:
            currency, late = row["currency"], row["items_overdue"]
            for label, value in (
                (f"Balance {currency}", row["balance"]),
                (f"Overdue {currency}", row["overdue"]),
            ):
                st.metric(
                    label,
                    formatting.money(value, currency, language),
                    border=True,
                    width="content",
                )
            st.metric(
                f"Open items {currency}",
                row["items_open"],
                delta=f"{late} overdue",
                delta_color="red" if late else "off",
                delta_arrow="off",
                border=True,
                width="content",
            )


def show_details(record: dict) -> None:
    """Contact details as imported or edited."""
    st.subheader("Details")
    values = dict(record)
    values["city"] = " ".join(
        part for part in (record["postal_code"], record["city"]) if part
    )
    lines = [
        f"**{label}:** {common.markdown_text(values[key])}  " for label, key in DETAILS
    ]
    st.markdown("\n".join(lines))


def show_contacts(contacts: list[dict]) -> None:
    """Who receives reminders, dunning contact first, one line each."""
    st.subheader("Contacts")
    if not contacts:
        st.caption("No contact yet: reminders can only be letters.")
        return
    lines = []
    for contact in contacts:
        name = common.markdown_text(contact["name"])
        role = common.markdown_text(contact["role"] or "no role")
        parts = [f"**{name}** ({role})"]
        parts += [
            common.markdown_text(contact[key])
            for key in ("email", "phone")
            if contact[key]
        ]
        lines.append("- " + " · ".join(parts))
    st.markdown("\n".join(lines))


def settings_form(con, record: dict) -> None:
    """Payment terms and late-penalty settings, checked and saved by dunning."""
    st.subheader("Payment terms and penalties")
    number = record["customer_number"]
    rate = record["penalty_rate"]
    with st.form(f"customer_settings_{number}"):
        changes = {
            "payment_terms_days": st.text_input(
                "Payment terms (days)",
                value=str(record["payment_terms_days"]),
                help="A whole number of days, 0 to 365.",
            ),
            "penalty_rule": st.selectbox(
                "Penalty rule",
                customers.PENALTY_RULES,
                index=customers.PENALTY_RULES.index(record["penalty_rule"]),
                format_func=lambda rule: RULE_LABELS.get(rule, rule),
            ),
            "penalty_rate": st.text_input(
                "Penalty rate (% a year, for the fixed rule)",
                value="" if rate is None else f"{rate.normalize():f}",
                placeholder="e.g. 12.5",
            ),
            "indemnity_enabled": st.checkbox(
                "Fixed recovery indemnity", value=record["indemnity_enabled"]
            ),
            "is_consumer": st.checkbox(
                "Consumer (no fixed indemnity)", value=record["is_consumer"]
            ),
            "in_insolvency": st.checkbox(
                "In insolvency proceedings", value=record["in_insolvency"]
            ),
        }
        submitted = st.form_submit_button("Save settings")
    if submitted:
        try:
            customers.update(con, number, changes)
        except InvalidValue as error:
            common.show_error(error)
        else:
            # Run again so the whole record (review notice included) shows the change.
            common.data_changed()
            st.session_state["customer_saved"] = number
            st.rerun()
    if st.session_state.pop("customer_saved", None) == number:
        st.success("Settings saved.")


def show_open_items(items: list[dict], record: dict, as_of) -> None:
    """The open items at the as-of date, searched and ticked into the basket like
    on the Search page, then the ones without a usable due date."""
    language = record["language"]
    day = formatting.date(as_of, language)
    st.subheader(f"Open items at {day}")
    if not items:
        st.caption(
            f"No open item at {day}. Items paid or issued later are not shown: "
            "change the as-of date in the sidebar to replay another day."
        )
        return
    path, number = common.workspace_path(), record["customer_number"]
    filters = common.search_form(PREFIX, common.account_choices(path), number)
    st.caption(f"Filters: {search.describe(filters)}.")
    panel = st.container()
    result, offset = common.search_page_of_rows(PREFIX, path, as_of, filters)
    common.show_matches(result, offset, language, "items")
    if result.rows:
        common.basket_table(
            PREFIX,
            items_table(result.rows, language),
            result.rows,
            column_config={
                "Document": st.column_config.TextColumn("Document", pinned=True),
                "Issue date": common.date_column("Issue date", language),
                "Due date": st.column_config.TextColumn("Due date"),
                "Days late": st.column_config.NumberColumn("Days late", format="%d"),
                "Amount": common.money_column("Amount"),
                "Open amount": common.money_column("Open amount"),
            },
        )
        common.page_offset(result.count, f"{PREFIX}_page", "items")
    else:
        st.info("No open item of this customer matches these filters.")
    with panel:
        common.basket_panel(PREFIX, path, as_of, language)
    show_missing_due_dates(items, language)


def items_table(items: list[dict], language: str) -> pd.DataFrame:
    """Items as read, what to chase first on the left: due date, days late, open
    amount; amounts and dates written in the customer's language."""
    return pd.DataFrame(
        {
            "Document": [i["doc_number"] for i in items],
            "Due date": [_due_date(i, language) for i in items],
            "Days late": pd.array([i["days_late"] for i in items], dtype="Int64"),
            "Open amount": [
                common.money_cell(i["open_amount"], i["currency"], language)
                for i in items
            ],
            "Aging bucket": [common.BUCKET_LABELS[i["bucket"]] for i in items],
            "Status": [i["status"] for i in items],
            "Amount": [
                common.money_cell(i["amount"], i["currency"], language) for i in items
            ],
            "Type": [
                common.DOC_TYPE_LABELS.get(i["doc_type"], i["doc_type"]) for i in items
            ],
            "Issue date": [i["issue_date"] for i in items],
            "Reference": [i["reference"] for i in items],
        }
    )


def _due_date(item: dict, language: str) -> str:
    due = item["due_date"]
    return "No due date" if due is None else formatting.date(due, language)


def show_missing_due_dates(items: list[dict], language: str) -> None:
    """Items never dunned until they get a due date, with what the file held."""
    missing = [i for i in items if i["due_date"] is None and i["open_amount"] > 0]
    if not missing:
        return
    st.warning(
        f"{len(missing)} open item(s) have no usable due date: they are not counted "
        "as overdue and are never dunned until one is set."
    )
    if len(missing) > common.PAGE_SIZE:
        st.caption(f"The first {common.PAGE_SIZE} of them.")
        missing = missing[: common.PAGE_SIZE]
    st.dataframe(
        pd.DataFrame(
            {
                "Document": [i["doc_number"] for i in missing],
                "Due date in the file": [
                    i["due_date_problem"] or "(empty)" for i in missing
                ],
                "Open amount": [
                    common.money_cell(i["open_amount"], i["currency"], language)
                    for i in missing
                ],
            }
        ),
        column_config={"Open amount": common.money_column("Open amount")},
        hide_index=True,
    )


try:
    main()
except DunningError as error:
    common.show_error(error)

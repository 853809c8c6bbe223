"""Customer record: details, payment terms, penalty settings, contacts, open items,
the selected items' penalties and qualification, a new specific action, the history.

The selection is the basket shared with the Search page; the record acts only on
the basket's items of its own customer and says how many belong to others.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dunning import (
    aging,
    basket,
    clock,
    customers,
    formatting,
    hashtags,
    qualification,
    search,
)
from dunning.errors import DunningError, InvalidValue
from pages import actions as actions_page
from pages import common, composer

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
# The four hashtags of a specific action, and the total each one prints.
SELECTION_TOTALS = {
    "items_amount_selected": "amount_selected",
    "items_amount_selected_late_penalties": "penalties",
    "items_amount_selected_include_late_penalties": "amount_including_penalties",
}
SELECTION_HASHTAGS = (*SELECTION_TOTALS, "items_list_selected")
NEW_ACTION = "New action (outside the dunning scenario)"
# Dates typed the way the customer's language writes them (as the sidebar does).
DATE_INPUT_FORMATS = {"fr": "DD/MM/YYYY", "en": "YYYY-MM-DD"}
DRAFT_TEXT = ("subject", "body")  # the composer's text widgets (pages/composer.py)


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
    st.title(common.message_text(record["name"] or number))
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

    # This customer's share of the basket: its penalties and hashtags, its
    # qualification, and a specific action claiming it.
    mine, others = basket.of_customer(con, common.basket_ids(), number)
    show_selection(con, record, mine, others, as_of)
    new_action(con, number, mine, others)

    # What was claimed before, one click from the items it claimed.
    st.subheader("Action history")
    actions_page.history(con, number, as_of)


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
        common.message_text(
            f"Owes {formatting.totals(balance, language)} at {day}, of which "
            f"{formatting.totals(overdue, language)} overdue."
        )
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
    st.caption(common.message_text(f"Filters: {search.describe(filters)}."))
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
        # Every customer's items: in the workspace's language, not this record's.
        common.basket_panel(PREFIX, path, as_of)
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
            "Status": [
                qualification.LABELS.get(i["status"], i["status"]) for i in items
            ],
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
    common.show_table(
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
    )


# ---------------------------------------------------------------------------
# The selected items of this customer


def keys(number: str):
    """Keys of this customer's own state: two records never share a draft."""
    return lambda name: f"record_{number}_{name}"


def show_selection(con, record: dict, mine: frozenset[int], others: int, as_of):
    """What the template's hashtags print for the selected items, the penalty of
    each item, and the qualification of the items."""
    number, language = record["customer_number"], record["language"]
    k = keys(number)
    st.subheader("Selected items")
    elsewhere = (
        f" {others} more item(s) of the basket belong to other customers: they are "
        "left out here."
        if others
        else ""
    )
    if not mine:
        st.caption(
            "No item of this customer is in the basket: tick open items above to "
            "see their penalties, qualify them or claim them in an action." + elsewhere
        )
        return
    st.caption(f"{len(mine)} item(s) of this customer in the basket.{elsewhere}")
    include = st.toggle(
        "Include disputed and litigation items in the penalties",
        key=k("include_disputed"),
    )
    computed = hashtags.compute(
        con, number, sorted(mine), as_of, include_disputed=include
    )
    for warning in computed.warnings_for(SELECTION_HASHTAGS):
        st.warning(common.message_text(warning))
    hashtag_totals(computed, language)
    breakdown(computed.assessment, language)
    qualify_items(number, mine, language)


def hashtag_totals(computed: hashtags.Computed, language: str) -> None:
    """The four hashtags of a specific action, per currency and as printed."""
    assessment = computed.assessment
    currencies = list(assessment.totals)
    rows = []
    for name, field in SELECTION_TOTALS.items():
        row = {"Hashtag": f"#{name}"}
        for currency, t in assessment.totals.items():
            row[currency] = formatting.money(getattr(t, field), currency, language)
        rows.append({**row, "Prints": computed.values[name]})
    rows.append(
        {
            "Hashtag": "#items_list_selected",
            **dict.fromkeys(currencies, ""),
            "Prints": f"a statement of {len(assessment.items)} item line(s) and "
            f"{len(currencies)} totals line(s)",
        }
    )
    for row in rows:
        row["What it is"] = hashtags.CATALOGUE[row["Hashtag"][1:]].description
    st.markdown("**What the template prints for them**")
    common.show_table(
        pd.DataFrame(rows),
        column_config={
            "Hashtag": st.column_config.TextColumn("Hashtag", pinned=True),
            **{currency: common.money_column(currency) for currency in currencies},
            "What it is": st.column_config.TextColumn("What it is", width="large"),
        },
    )
    with st.expander("#items_list_selected as the template prints it"):
        st.code(computed.values["items_list_selected"].text, language=None)


def breakdown(assessment, language: str) -> None:
    """Each item's penalty, then the periods its interest runs over."""
    items = assessment.items
    st.markdown(
        f"**Penalty of each item** — {common.markdown_text(assessment.rate_note)}"
    )
    common.show_table(
        pd.DataFrame(
            {
                "Document": [i.doc_number for i in items],
                "Status": [qualification.LABELS.get(i.status, i.status) for i in items],
                "Due date": [formatting.date(i.due_date, language) for i in items],
                "Days late": pd.array(
                    [i.days_late if i.open_amount > 0 else None for i in items],
                    dtype="Int64",
                ),
                "Open amount": [
                    formatting.money(i.open_amount, i.currency, language) for i in items
                ],
                "Interest": [
                    formatting.money(i.interest, i.currency, language) for i in items
                ],
                "Indemnity": [
                    formatting.money(
                        i.indemnity, i.indemnity_currency or i.currency, language
                    )
                    for i in items
                ],
                "Penalty": [penalty_text(i, language) for i in items],
                "Note": [i.note or "" for i in items],
            }
        ),
        column_config={
            "Document": st.column_config.TextColumn("Document", pinned=True),
            **{
                name: common.money_column(name)
                for name in ("Open amount", "Interest", "Indemnity", "Penalty")
            },
            "Note": st.column_config.TextColumn("Note", width="large"),
        },
    )
    periods = [(item, period) for item in items for period in item.periods]
    if not periods:
        return
    st.markdown("**Periods of interest** (days counted inclusive, 365-day year)")
    common.show_table(
        pd.DataFrame(
            {
                "Document": [i.doc_number for i, _ in periods],
                "From": [formatting.date(p.start, language) for _, p in periods],
                "To": [formatting.date(p.end, language) for _, p in periods],
                "Days": [p.days for _, p in periods],
                "Base": [
                    formatting.money(p.base, i.currency, language) for i, p in periods
                ],
                "Rate": [hashtags.percent(p.rate, language) for _, p in periods],
                "Interest": [
                    formatting.money(p.interest, i.currency, language)
                    for i, p in periods
                ],
            }
        ),
        column_config={
            name: common.money_column(name) for name in ("Base", "Rate", "Interest")
        },
    )


def penalty_text(item, language: str) -> str:
    """An item's penalty; an indemnity in another currency is written beside."""
    if not item.indemnity or item.indemnity_currency in (None, item.currency):
        return formatting.money(item.penalty, item.currency, language)
    return (
        f"{formatting.money(item.interest, item.currency, language)} + "
        f"{formatting.money(item.indemnity, item.indemnity_currency, language)}"
    )


# ---------------------------------------------------------------------------
# Qualification of the selected items


def qualify_items(number: str, mine: frozenset[int], language: str) -> None:
    """Give the selected items a status; several at once only once confirmed."""
    k, ids = keys(number), sorted(mine)
    day_format = DATE_INPUT_FORMATS.get(language, "YYYY-MM-DD")
    st.markdown("**Qualify the selected items**")
    common.show_flash(k("qualify"))
    with st.container(horizontal=True, vertical_alignment="bottom"):
        status = st.selectbox(
            "Status",
            qualification.STATUSES,
            format_func=qualification.LABELS.get,
            key=k("status"),
            width=200,
        )
        st.date_input(
            "Status date",
            value=clock.today(),
            key=k("status_date"),
            format=day_format,
            width=150,
        )
        st.date_input(
            "Promised to pay by",
            value=None,
            key=k("promise_date"),
            disabled=status != "promised",
            format=day_format,
            width=170,
        )
        st.text_input("Comment", key=k("comment"), width=320)
        st.button(
            f"Apply to {len(ids)} item(s)",
            key=k("apply"),
            on_click=_qualify_asked,
            args=(number, ids),
        )
    st.caption(
        "Recorded under the name "
        f"{common.markdown_text(qualification.author_or_default())} "
        "($DUNNING_USER, else the login), with the item's history."
    )

    # Several items change only after a second, explicit click.
    pending = st.session_state.get(k("pending"))
    if pending and pending["ids"] != ids:
        st.session_state.pop(k("pending"))  # the selection changed meanwhile
    elif pending:
        label = qualification.LABELS[pending["status"]]
        with st.container(border=True):
            st.warning(f"Apply '{label}' to {len(ids)} items?")
            with st.container(horizontal=True):
                st.button(
                    f"Yes, apply to {len(ids)} items",
                    key=k("confirm"),
                    type="primary",
                    on_click=_qualify,
                    args=(number, pending),
                )
                st.button(
                    "No, keep them as they are",
                    key=k("dismiss"),
                    on_click=_dismiss,
                    args=(number,),
                )


def _qualify_asked(number: str, ids: list[int]) -> None:
    """The Apply click: one item at once, several after the confirmation."""
    k = keys(number)
    wanted = {
        "ids": ids,
        "status": st.session_state[k("status")],
        "status_date": st.session_state.get(k("status_date")),
        "promise_date": st.session_state.get(k("promise_date")),
        "comment": st.session_state.get(k("comment"), ""),
    }
    if len(ids) > 1:
        st.session_state[k("pending")] = wanted
    else:
        _qualify(number, wanted)


def _dismiss(number: str) -> None:
    st.session_state.pop(keys(number)("pending"), None)


def _qualify(number: str, wanted: dict) -> None:
    k = keys(number)
    st.session_state.pop(k("pending"), None)
    try:
        with common.cursor() as con:
            count = qualification.qualify(
                con,
                wanted["ids"],
                wanted["status"],
                status_date=wanted["status_date"],
                comment=wanted["comment"],
                promise_date=wanted["promise_date"]
                if wanted["status"] == "promised"
                else None,
            )
    except DunningError as error:
        common.flash(k("qualify"), error)
        return
    common.data_changed()
    label = qualification.LABELS[wanted["status"]]
    common.flash(k("qualify"), f"{label}: {count} item(s) qualified.", "success")


# ---------------------------------------------------------------------------
# A new action outside the dunning scenario


def new_action(con, number: str, mine: frozenset[int], others: int) -> None:
    """The button, the choice it offers, and the composer of a specific action."""
    k = keys(number)
    chosen = st.session_state.get(k("new_action"))
    st.button(
        NEW_ACTION,
        key=k("new"),
        type="secondary" if chosen else "primary",
        on_click=_choose,
        args=(number, None if chosen == "menu" else "menu"),
    )
    if chosen == "menu":
        with st.container(border=True, horizontal=True, vertical_alignment="center"):
            st.button(
                "Specific action",
                key=k("specific"),
                type="primary",
                on_click=_choose,
                args=(number, "specific"),
            )
            st.caption(
                "A reminder on the selected items, written or taken from a "
                "template or an earlier action, previewed with the real values."
            )
    elif chosen == "specific":
        with st.container(border=True):
            if others:
                st.info(
                    f"{others} item(s) of the basket belong to other customers: "
                    f"this action claims only the {len(mine)} of this customer."
                )
            # Streamlit forgets a widget's value on a run that does not draw it:
            # the draft's text is kept beside, for when this record is back.
            for part in DRAFT_TEXT:
                common.kept(f"composer_{number}_{part}", "")
            composer.composer(con, number, mine)
            st.button(
                "Close the composer",
                key=k("close"),
                on_click=_choose,
                args=(number, None),
            )


def _choose(number: str, chosen: str | None) -> None:
    st.session_state[keys(number)("new_action")] = chosen


try:
    main()
except DunningError as error:
    common.show_error(error)

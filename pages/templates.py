"""Templates: the predefined library and saved templates, an editor with the hashtag
palette, and a live preview on a chosen customer and selection."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dunning import customers, formatting, hashtags, rendering, templates
from dunning.errors import DunningError
from pages import common

BLANK = ""  # the "start from" choice of an empty template
CHANNEL_LABELS = {"email": "Email", "letter": "Letter", "sms": "SMS", "call": "Call"}
LANGUAGE_LABELS = {"fr": "French", "en": "English"}
FIELDS = ("tpl_name", "tpl_channel", "tpl_language", "tpl_subject", "tpl_body")
FIRST = "relance-1-fr"
MESSAGE = "tpl_message"


def main() -> None:
    st.title("Templates")
    st.caption(
        "Write a reminder once with hashtags; the preview renders it for a customer "
        "and a selection of items at the as-of date."
    )
    with common.cursor() as con:
        every = {t.name: t for t in templates.every(con)}
    if "tpl_body" not in st.session_state:
        _load(every.get(FIRST))
    show_message()

    editor, preview = st.columns([1, 1], gap="large")
    with editor:
        edit(every)
    with preview:
        live_preview()
    palette()


# ---------------------------------------------------------------------------
# The editor


def edit(every: dict[str, templates.Template]) -> None:
    """Start from a template (or blank), change it, save it under a name."""
    st.subheader("Editor")
    names = [BLANK, *every]
    st.selectbox(
        "Start from",
        names,
        key="tpl_source",
        format_func=lambda n: _source_label(every.get(n)),
        on_change=_start_from,
        args=(every,),
        help="A predefined or saved template; its text is copied into the editor.",
    )
    name_col, channel_col, language_col = st.columns([2, 1, 1])
    name_col.text_input(
        "Name",
        key="tpl_name",
        help="Lowercase letters, digits, '-' or '_' (e.g. relance-litige-fr).",
    )
    channel_col.selectbox(
        "Channel",
        templates.CHANNELS,
        key="tpl_channel",
        format_func=CHANNEL_LABELS.get,
    )
    language_col.selectbox(
        "Language",
        templates.LANGUAGES,
        key="tpl_language",
        format_func=LANGUAGE_LABELS.get,
    )
    st.text_input("Subject", key="tpl_subject")
    st.text_area(
        "Body",
        key="tpl_body",
        height=420,
        help="Plain text; a blank line separates paragraphs. Hashtags are listed "
        "in the palette below the preview.",
    )
    chosen = every.get(st.session_state.get("tpl_name", ""))
    with st.container(horizontal=True):
        st.button("Save as template", type="primary", on_click=_save)
        if chosen is not None and not chosen.predefined:
            st.button("Delete saved template", on_click=_delete, args=(chosen.name,))
    if chosen is not None and chosen.predefined:
        st.caption(
            f"{chosen.name} is predefined: change the name to save your version."
        )


def _source_label(template: templates.Template | None) -> str:
    if template is None:
        return "Blank template"
    kind = "predefined" if template.predefined else "saved"
    return f"{template.label} · {kind}"


def _start_from(every: dict[str, templates.Template]) -> None:
    _load(every.get(st.session_state.get("tpl_source", BLANK)))


def _load(template: templates.Template | None) -> None:
    """Copy a template into the editor's fields (blank when None)."""
    if template is None:
        values = ("", "email", "fr", "", "")
    else:
        values = (
            template.name,
            template.channel,
            template.language,
            template.subject,
            template.body,
        )
    for key, value in zip(FIELDS, values, strict=True):
        st.session_state[key] = value
    if template is not None:
        st.session_state["tpl_source"] = template.name


def _save() -> None:
    state = st.session_state
    try:
        with common.cursor() as con:
            saved = templates.save(
                con,
                state.get("tpl_name", ""),
                state.get("tpl_channel", "email"),
                state.get("tpl_language", "fr"),
                state.get("tpl_subject", ""),
                state.get("tpl_body", ""),
            )
    except DunningError as error:
        state[MESSAGE] = ("error", error)
        return
    state["tpl_source"] = saved.name
    state[MESSAGE] = ("success", f"Template {saved.name} saved.")


def _delete(name: str) -> None:
    try:
        with common.cursor() as con:
            templates.delete(con, name)
    except DunningError as error:
        st.session_state[MESSAGE] = ("error", error)
        return
    st.session_state["tpl_source"] = BLANK
    st.session_state["tpl_name"] = ""
    st.session_state[MESSAGE] = ("success", f"Template {name} deleted.")


def show_message() -> None:
    """What the last save or delete did, shown once."""
    kind, message = st.session_state.pop(MESSAGE, (None, None))
    if kind == "error":
        common.show_error(message)
    elif kind == "success":
        st.success(common.message_text(message))


# ---------------------------------------------------------------------------
# The live preview


def live_preview() -> None:
    """The editor's text rendered for a customer's selection, with its problems."""
    st.subheader("Preview")
    path, as_of = common.workspace_path(), common.as_of()
    listing = common.customer_listing(path)
    if not listing:
        st.info("No customer yet: import a ledger to preview a template.")
        return
    number = pick_customer(listing)
    con = common.cursor()
    record = customers.get(con, number)
    ids = pick_items(con, number, record["language"], as_of)
    shown = rendering.preview(
        con,
        number,
        ids,
        as_of,
        st.session_state.get("tpl_subject", ""),
        st.session_state.get("tpl_body", ""),
    )
    for problem in shown.blocking:
        st.error(common.message_text(problem))
    for warning in shown.warnings:
        st.warning(common.message_text(warning))
    st.markdown(f"**Subject:** {common.markdown_text(shown.subject)}")
    as_html, as_text = st.tabs(["HTML", "Text"])
    with as_html, st.container(border=True):
        if shown.html.strip():
            # A wide statement scrolls inside the frame instead of being cut.
            st.html(f'<div style="overflow-x:auto">{shown.html}</div>')
        else:
            st.caption("The body is empty.")
    with as_text:
        st.code(shown.text or " ", language=None, wrap_lines=False)


def pick_customer(listing: list[dict]) -> str:
    """The customer to preview on: the one last opened, else the first."""
    names = {row["customer_number"]: row["name"] for row in listing}
    if st.session_state.get("tpl_customer") not in names:
        wanted = st.session_state.get("customer")
        st.session_state["tpl_customer"] = (
            wanted if wanted in names else next(iter(names))
        )
    return st.selectbox(
        "Customer",
        list(names),
        key="tpl_customer",
        format_func=lambda n: common.customer_label(n, names[n]),
    )


def pick_items(con, number: str, language: str, as_of) -> list[int]:
    """The selected items: the basket's of this customer, else its overdue ones."""
    items = customers.open_items(con, number, as_of)
    labels = {item["item_id"]: _item_label(item, language) for item in items}
    key = f"tpl_items_{number}_{as_of.isoformat()}"
    if key not in st.session_state:
        chosen, origin = templates.starting_selection(
            con, number, as_of, common.basket_ids()
        )
        st.session_state[key] = chosen
        st.session_state[f"{key}_origin"] = origin
    origin = st.session_state.get(f"{key}_origin")
    st.multiselect(
        "Selected items",
        list(labels),
        key=key,
        format_func=labels.get,
        placeholder="Choose the items the reminder claims",
    )
    st.caption(
        "Started from the basket's items of this customer."
        if origin == "basket"
        else "Started from this customer's overdue items."
    )
    return list(st.session_state[key])


def _item_label(item: dict, language: str) -> str:
    due = formatting.date(item["due_date"], language) or "no due date"
    amount = common.money_cell(item["open_amount"], item["currency"], language)
    return f"{item['doc_number']} · due {due} · {amount}"


# ---------------------------------------------------------------------------
# The palette


def palette() -> None:
    """Every hashtag with what it gives; cells can be copied into the body."""
    with st.expander("Hashtag palette", expanded=False):
        st.caption(
            "Copy a hashtag into the subject or body. Names are read whole; an "
            "unknown #name_with_underscores blocks the reminder."
        )
        st.dataframe(
            pd.DataFrame(
                {
                    "Hashtag": [f"#{h.name}" for h in hashtags.CATALOGUE.values()],
                    "Group": [h.group for h in hashtags.CATALOGUE.values()],
                    "Gives": [h.description for h in hashtags.CATALOGUE.values()],
                }
            ),
            hide_index=True,
            column_config={"Gives": st.column_config.TextColumn(width="large")},
        )
        st.caption(
            "Jinja2 may shape the text: {% if %}, {% for item in items_selected %} "
            "and the filters money, date, number, percent (see templates/README.md)."
        )


try:
    main()
except DunningError as error:
    common.show_error(error)

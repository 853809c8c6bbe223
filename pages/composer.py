"""The "Specific action" composer: a reminder on chosen items of one customer,
outside the dunning scenario (DESIGN 2, steps 6 to 8).

A UI module, not a page: the customer record calls `composer(cursor, customer,
item_ids)`. Every widget key carries the customer number, so two customers never
share a draft. Rendering, penalties, validation and carrying out all happen in
`dunning`; this module arranges widgets and calls it.

A draft is validated once: Validate stays disabled while the draft is the one just
validated, the preview warns when the selected items are claimed by another action
(recently done, or still to come), and carrying out clears the draft, so the same
reminder is never created twice by one more click.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from pathlib import Path

import pandas as pd
import streamlit as st
import streamlit.components.v1 as components

from dunning import (
    actions,
    clock,
    customers,
    formatting,
    hashtags,
    letters,
    rendering,
    sending,
    templates,
)
from dunning.errors import DunningError
from pages import actions as actions_page
from pages import common

SOURCES = {
    "template": "A template",
    "action": "An earlier action",
    "blank": "Blank",
}
# What the draft holds: cleared once its action is carried out.
DRAFT_KEYS = ("subject", "body", "template_used", "validated", "pdf")
CLEARED = "The draft is cleared: a new action starts from here."


def composer(cursor, customer_number: str, item_ids: frozenset[int]) -> None:
    """New action (outside the dunning scenario) -> Specific action."""
    k = _keys(customer_number)
    record = customers.get(cursor, customer_number)
    as_of = common.as_of()
    st.subheader("Specific action")
    _notice(k)
    carried = st.session_state.get(k("carried"))
    if carried is not None:
        actions_page.dispute_offer(cursor, carried, k("dispute"), notice=k("notice"))
    if not item_ids:
        st.info(
            "Select the items this action claims first (tick them in the open "
            "items or add them from the search)."
        )

    # What kind of action, when, and to whom.
    kind, planned, mode = _type_date_mode(k, as_of)
    chosen = _recipients(cursor, customer_number, kind, k)

    # Its content: from a template, an earlier action or blank; the hashtags.
    _content_source(cursor, k, kind, record)
    subject = st.text_input("Subject", key=k("subject"))
    body = st.text_area("Body", key=k("body"), height=260)
    _palette(k)
    options = st.columns(2)
    include_disputed = options[0].checkbox(
        "Include disputed and litigation items in the penalties",
        key=k("disputed"),
    )
    attach = options[1].checkbox(
        "Attach the statement as PDF",
        key=k("attach"),
        disabled=kind != "email",
    )

    # The draft as Validate would store it.
    draft = {
        "customer_number": customer_number,
        "item_ids": sorted(item_ids),
        "type": kind,
        "subject": subject,
        "body": body,
        "planned_for": planned,
        "mode": mode,
        "as_of": as_of,
        "template": st.session_state.get(k("template_used")),
        "include_disputed": include_disputed,
        "attach_statement": attach and kind == "email",
        "recipients": {
            "to": st.session_state.get(k("to"), ""),
            "cc": st.session_state.get(k("cc"), ""),
        }
        if kind == "email"
        else None,
    }
    signature = hashlib.sha256(
        json.dumps(draft, sort_keys=True, default=str).encode()
    ).hexdigest()
    validated = st.session_state.get(k("validated"))
    just_validated = validated is not None and validated[0] == signature

    # The preview with the real values, and what validating would say.
    preview = rendering.preview(
        cursor,
        customer_number,
        sorted(item_ids),
        as_of,
        subject,
        body,
        action_date=planned,
        contact=_contact(chosen),
        include_disputed=include_disputed,
    )
    found = actions.checks(
        cursor,
        kind,
        preview,
        sorted(item_ids),
        planned,
        template=draft["template"],
        language=record["language"],
        exclude_action=validated[1] if just_validated else None,
    )
    _show_preview(cursor, k, record, kind, planned, preview, chosen, found)
    _statement_downloads(cursor, k, customer_number, item_ids, as_of)

    # Validate, then carry out now or leave it planned.
    _validate(k, draft, signature, preview, found, chosen)


def _keys(customer_number: str):
    """Widget keys of this customer's composer."""
    return lambda name: f"composer_{customer_number}_{name}"


def _notice(k) -> None:
    kind, text = st.session_state.pop(k("notice"), (None, None))
    if kind:
        getattr(st, kind)(text)


def _type_date_mode(k, as_of: dt.date):
    columns = st.columns(3)
    kind = columns[0].selectbox(
        "Action type",
        actions.TYPES,
        format_func=actions.TYPE_LABELS.get,
        key=k("type"),
    )
    planned = columns[1].date_input(
        "Planned date", value=clock.today(), key=k("planned")
    )
    mode = columns[2].radio(
        "When the date comes",
        actions.MODES,
        format_func=actions.MODE_LABELS.get,
        key=k("mode"),
        horizontal=True,
    )
    return kind, planned, mode


def _recipients(con, customer_number: str, kind: str, k) -> sending.Recipients:
    """The default recipient from the contacts; To and Cc editable for emails."""
    default = sending.recipients(con, customer_number)
    if kind != "email":
        return default
    if k("to") not in st.session_state:
        st.session_state[k("to")] = sending.format_mailboxes(default.to)
    columns = st.columns(2)
    columns[0].text_area("To (one per line: Name <address>)", key=k("to"), height=80)
    columns[1].text_area("Cc", key=k("cc"), height=80)
    if default.disabled_reason and not st.session_state[k("to")].strip():
        st.warning(f"{default.disabled_reason}")
        st.button(
            "Send a letter instead",
            key=k("to_letter"),
            on_click=_switch_to_letter,
            args=(k,),
        )
    elif default.fallback_note:
        st.info(f"Fallback recipient: {default.fallback_note}")
    try:
        return sending.Recipients(
            to=sending.parse_mailboxes("To", st.session_state[k("to")]),
            cc=sending.parse_mailboxes("Cc", st.session_state.get(k("cc"), "")),
        )
    except DunningError as error:
        st.error(str(error))
        return sending.Recipients(disabled_reason=str(error))


def _switch_to_letter(k) -> None:
    st.session_state[k("type")] = "letter"


def _contact(chosen: sending.Recipients) -> dict | None:
    if not chosen.to:
        return None
    return {"name": chosen.to[0].name, "email": chosen.to[0].email, "role": None}


def _content_source(con, k, kind: str, record: dict) -> None:
    """Fill subject and body from a template, an earlier action, or blank."""
    with st.expander("Start from a template, an earlier action or blank"):
        source = st.radio(
            "Start from",
            list(SOURCES),
            format_func=SOURCES.get,
            key=k("source"),
            horizontal=True,
        )
        if source == "template":
            found = templates.every(con)
            channel = actions.CHANNEL_OF[kind]
            found.sort(
                key=lambda t: (
                    t.channel != channel,
                    t.language != record["language"],
                    t.name,
                )
            )
            names = {t.name: t for t in found}
            picked = st.selectbox(
                "Template",
                list(names),
                format_func=lambda n: (
                    f"{names[n].label} · {names[n].channel} · {names[n].language}"
                ),
                key=k("template"),
            )
            chosen = names.get(picked)
            content = (
                (chosen.subject, chosen.body, chosen.name, chosen.channel)
                if chosen
                else None
            )
        elif source == "action":
            earlier = actions.contents(con)
            by_id = {row["action_id"]: row for row in earlier}
            picked = st.selectbox(
                "Earlier action",
                list(by_id),
                format_func=lambda n: (
                    f"#{n} — {by_id[n]['customer_name'] or ''} — "
                    f"{actions.TYPE_LABELS[by_id[n]['type']]} — {by_id[n]['subject']}"
                ),
                key=k("earlier"),
                placeholder="No action yet",
            )
            row = by_id.get(picked)
            content = (
                (row["subject"], row["body"], row["template"], None) if row else None
            )
        else:
            content = ("", "", None, None)
        st.button(
            "Use this content",
            key=k("use"),
            disabled=content is None,
            on_click=_use_content,
            args=(k, content),
        )


def _use_content(k, content) -> None:
    """Fill the draft; a letter template chosen for an email makes it a letter."""
    subject, body, template, channel = content
    st.session_state[k("subject")] = subject
    st.session_state[k("body")] = body
    st.session_state[k("template_used")] = template
    if channel == "letter" and st.session_state.get(k("type")) == "email":
        st.session_state[k("type")] = "letter"
        st.session_state[k("notice")] = (
            "info",
            f"The template {template} is written for letters: the action type is "
            "now Letter. Choose Email again only if its text suits an email.",
        )


def _palette(k) -> None:
    """The hashtags, each with what it gives; one is inserted at the body's end."""
    with st.expander("Hashtags"):
        names = list(hashtags.CATALOGUE)
        columns = st.columns([3, 1], vertical_alignment="bottom")
        picked = columns[0].selectbox(
            "Hashtag",
            names,
            format_func=lambda n: f"#{n} — {hashtags.CATALOGUE[n].description}",
            key=k("hashtag"),
        )
        columns[1].button(
            "Insert in the body", key=k("insert"), on_click=_insert, args=(k, picked)
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
        )


def _insert(k, name: str) -> None:
    body = st.session_state.get(k("body"), "")
    separator = "" if not body or body.endswith((" ", "\n")) else " "
    st.session_state[k("body")] = f"{body}{separator}#{name}"


def _show_preview(con, k, record, kind, planned, preview, chosen, found) -> None:
    """The rendered text (or the letter it becomes), penalties, warnings; `found`
    holds what validating this type of action would refuse or warn about."""
    st.markdown("#### Preview")
    for problem in (*preview.blocking, *found.blocking):
        st.error(common.message_text(problem))
    for warning in (*preview.warnings, *found.warnings):
        st.warning(common.message_text(warning))
    if kind == "email" and not chosen.sendable:
        st.warning(
            common.message_text(chosen.disabled_reason)
            if chosen.disabled_reason
            else "No recipient: give a To address, or choose a letter instead."
        )
    st.markdown(f"**{common.markdown_text(preview.subject)}**")
    if kind in letters.LETTER_TYPES:
        contact = chosen.to[0].name if chosen.to else None
        html = letters.from_preview(
            con, record["customer_number"], kind, planned, preview, contact
        )
        components.html(html, height=900, scrolling=True)
        _pdf_download(k, html)
    else:
        with st.container(border=True):
            st.html(preview.html or "<p></p>")
    _penalties(preview.assessment, record["language"])


def _statement_downloads(con, k, customer_number: str, item_ids, as_of) -> None:
    """The selected items as a CSV or XLSX statement, written when clicked."""
    if not item_ids:
        return
    with st.container(horizontal=True):
        for suffix, label in (
            (".csv", "Download the statement (CSV)"),
            (".xlsx", "Download the statement (XLSX)"),
        ):
            st.download_button(
                label,
                # Written on the click, on a thread of its own (with its own cursor).
                data=functools.partial(
                    sending.statement_file, con, sorted(item_ids), as_of, suffix
                ),
                file_name=sending.statement_name(customer_number, as_of, suffix),
                mime=sending.STATEMENT_FORMATS[suffix],
                key=k(f"statement{suffix}"),
                on_click="ignore",
            )


def _pdf_download(k, html: str) -> None:
    """The PDF the letter becomes, made on request (WeasyPrint takes a moment)."""
    digest = hashlib.sha256(html.encode()).hexdigest()
    made = st.session_state.get(k("pdf"))
    if made and made[0] == digest:
        st.download_button(
            "Download the letter (PDF)",
            made[1],
            file_name="letter.pdf",
            mime="application/pdf",
            key=k("pdf_download"),
            on_click="ignore",
        )
    else:
        st.button("Make the PDF", key=k("pdf_make"), on_click=_make_pdf, args=(k, html))


def _make_pdf(k, html: str) -> None:
    try:
        data = letters.pdf(html)
    except DunningError as error:
        st.session_state[k("notice")] = ("error", str(error))
        return
    st.session_state[k("pdf")] = (hashlib.sha256(html.encode()).hexdigest(), data)


def _penalties(assessment, language: str) -> None:
    """The penalty breakdown per item, and the totals per currency."""
    if not assessment.items:
        return
    st.markdown(f"**Penalties** — {common.markdown_text(assessment.rate_note)}")
    st.dataframe(
        pd.DataFrame(
            {
                "Document": [i.doc_number for i in assessment.items],
                "Days late": pd.array(
                    [i.days_late for i in assessment.items], dtype="Int64"
                ),
                "Open amount": [
                    formatting.money(i.open_amount, i.currency, language)
                    for i in assessment.items
                ],
                "Interest": [
                    formatting.money(i.interest, i.currency, language)
                    for i in assessment.items
                ],
                "Indemnity": [
                    formatting.money(
                        i.indemnity, i.indemnity_currency or i.currency, language
                    )
                    for i in assessment.items
                ],
                "Note": [i.note or "" for i in assessment.items],
            }
        ),
        hide_index=True,
        column_config={
            name: common.money_column(name)
            for name in ("Open amount", "Interest", "Indemnity")
        },
    )
    for currency, t in assessment.totals.items():
        st.caption(
            f"{currency}: selected "
            f"{formatting.money(t.amount_selected, currency, language)} + penalties "
            f"{formatting.money(t.penalties, currency, language)} = "
            f"{formatting.money(t.amount_including_penalties, currency, language)}"
        )
    for warning in assessment.warnings:
        st.warning(warning)


def _validate(
    k, draft: dict, signature: str, preview, found, chosen: sending.Recipients
) -> None:
    """Validate (refused while something blocks), then carry out or leave planned."""
    blocked = bool(preview.blocking or found.blocking) or (
        draft["type"] == "email" and not chosen.sendable
    )
    validated = st.session_state.get(k("validated"))
    with st.container(horizontal=True):
        st.button(
            "Validate",
            key=k("validate"),
            type="primary",
            disabled=blocked or (validated is not None and validated[0] == signature),
            on_click=_create,
            args=(k, draft, signature),
            help="Refused while the preview shows a blocking problem."
            if blocked
            else None,
        )
        if validated is not None:
            action_id = validated[1]
            st.button(
                "Carry out now",
                key=k("carry_out"),
                on_click=_carry_out,
                args=(k, action_id),
            )
            st.caption(
                f"Action #{action_id} is validated and planned; leave it planned "
                "to carry it out on its date (Actions page)."
            )


def _create(k, draft: dict, signature: str) -> None:
    """The Validate click: one action per draft, even on a double click."""
    validated = st.session_state.get(k("validated"))
    if validated is not None and validated[0] == signature:
        return
    try:
        with common.cursor() as con:
            action_id = actions.validate(con, **draft).action_id
    except DunningError as error:
        st.session_state[k("notice")] = ("error", f"**{error.title}.** {error}")
        return
    st.session_state[k("validated")] = (signature, action_id)
    st.session_state.pop(k("carried"), None)
    st.session_state[k("notice")] = ("success", f"Action #{action_id} validated.")
    common.data_changed()


def _carry_out(k, action_id: int) -> None:
    folder = Path(common.workspace_path()).resolve().parent / "exports"
    try:
        with common.cursor() as con:
            outcome = actions.carry_out(con, action_id, folder)
    except DunningError as error:
        st.session_state[k("notice")] = ("error", f"**{error.title}.** {error}")
        return
    if outcome.carried_out:
        where = f": {outcome.output.name}" if outcome.output else ""
        verb = "sent by email" if outcome.sent else "carried out"
        text = ("success", f"Action #{action_id} {verb}{where}. {CLEARED}")
    elif outcome.status == "failed":
        text = (
            "error",
            f"Action #{action_id} failed: {outcome.error} It is kept: retry it on "
            f"the Actions page. {CLEARED}",
        )
    else:
        reason = outcome.reason or f"Action #{action_id}: {outcome.status}."
        text = ("info", f"{reason} {CLEARED}")
    # The action holds the draft now: clear it, so that no click makes it again.
    _clear_draft(k)
    st.session_state[k("carried")] = action_id
    st.session_state[k("notice")] = text
    common.data_changed()


def _clear_draft(k) -> None:
    """An empty draft: subject, body, template, validation and PDF forgotten."""
    for name in DRAFT_KEYS:
        st.session_state.pop(k(name), None)
    st.session_state[k("subject")] = ""
    st.session_state[k("body")] = ""

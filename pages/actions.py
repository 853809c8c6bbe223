"""Actions: planned, due, done, failed and cancelled actions; carry out, reschedule,
cancel, retry; ticking a row opens an action with its items at validation, as
claimed when carried out and now, and the ticked actions can be downloaded together
(their letters in one PDF, or a ZIP).

Every change happens in an on_click callback that calls `dunning.actions`, which
claims an action with one guarded state change: a double click, a rerun or a second
session never carries it out twice. `action_details` and `history` are also used by
the customer record, and `dispute_offer` by the composer, so each place shows an
action the same way.
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path

import pandas as pd
import streamlit as st

from dunning import actions, formatting, letters
from dunning.errors import DunningError
from pages import common

VIEWS = {
    "due": "Due",
    "planned": "Planned",
    "done": "Done",
    "failed": "Failed",
    "cancelled": "Cancelled",
    "all": "All",
}
NOTICE = "actions_notice"
LAST_CLICK = "actions_last_click"
TICKED = "actions_ticked"


def export_dir() -> Path:
    """Where carried-out actions write their files: exports/ beside the workspace."""
    return Path(common.workspace_path()).resolve().parent / "exports"


def main() -> None:
    st.title("Actions")
    con = common.cursor()
    as_of = common.as_of()
    show_notice()

    # What is due now: confirm-mode actions wait for a click, automatic ones run.
    due_section(con, as_of)

    # Every action, filtered; one click on a row opens it below.
    view, filters = filter_bar()
    rows = listed(con, view, filters, as_of)
    ticked = actions_table(rows)
    batch_section(con, rows, ticked)
    opened = open_picker(rows, newly_ticked(ticked))
    if opened is not None:
        action_details(con, opened, as_of, key="actions")


# ---------------------------------------------------------------------------
# Notices left by callbacks for the next run


def notify(kind: str, text: str, key: str = NOTICE) -> None:
    st.session_state[key] = (kind, text)


def show_notice() -> None:
    kind, text = st.session_state.pop(NOTICE, (None, None))
    if kind:
        getattr(st, kind)(text)


def _guarded(work, *args, **kwargs) -> None:
    """Run a change; a DunningError becomes the next run's error notice."""
    try:
        work(*args, **kwargs)
    except DunningError as error:
        notify("error", f"**{error.title}.** {error}")
    common.data_changed()


# ---------------------------------------------------------------------------
# Due actions


def due_section(con, as_of: dt.date) -> None:
    waiting = actions.due(con, as_of)
    st.subheader(f"Due by {formatting.date(as_of, common.language())}")
    if not waiting:
        st.caption("No planned action has reached its date.")
        return
    automatic = [d for d in waiting if d.action["mode"] == "auto"]
    st.button(
        f"Run due automatic actions ({len(automatic)})",
        key="actions_run_due",
        type="primary",
        disabled=not automatic,
        on_click=_guarded,
        args=(run_due, as_of),
    )
    for item in waiting:
        due_row(item)


def due_row(item: actions.Due) -> None:
    """One due action: its amounts at validation and now; confirm-mode ones get a
    button."""
    action = item.action
    language = common.language()
    action_id = action["action_id"]
    with st.container(border=True, horizontal=True, vertical_alignment="center"):
        then = formatting.totals(item.totals_then, language) or "—"
        now = formatting.totals(item.totals_now, language) or "—"
        settled = ""
        if item.settled:
            settled = " · settled since: " + common.markdown_text(
                ", ".join(item.settled)
            )
        st.markdown(
            f"**#{action_id}** {actions.TYPE_LABELS[action['type']]} · "
            f"{common.markdown_text(action['customer_name'] or '')} "
            f"({common.markdown_text(action['customer_number'])}) · planned "
            f"{formatting.date(action['planned_for'], language)} · "
            f"{actions.MODE_LABELS[action['mode']]}  \n"
            f"At validation {common.markdown_text(then)} → open now "
            f"{common.markdown_text(now)}{settled}"
        )
        if action["mode"] == "confirm":
            st.button(
                "Carry out",
                key=f"actions_carry_out_{action_id}",
                type="primary",
                on_click=_guarded,
                args=(carry_out, action_id),
            )


def carry_out(action_id: int) -> None:
    """The click: carry the action out once and say what happened."""
    with common.cursor() as con:
        outcome = actions.carry_out(con, action_id, export_dir())
        describe(outcome)
        if outcome.disputed_item_ids:
            st.session_state[f"actions_disputed_{action_id}"] = True


def describe(outcome: actions.Outcome) -> None:
    if outcome.carried_out:
        where = f" ({outcome.output.name})" if outcome.output else ""
        dropped = (
            f" Dropped, settled meanwhile: {', '.join(outcome.dropped)}."
            if outcome.dropped
            else ""
        )
        verb = "sent by email" if outcome.sent else "carried out"
        notify("success", f"Action {outcome.action_id} {verb}{where}.{dropped}")
    elif outcome.status == "failed":
        notify("error", f"Action {outcome.action_id} failed: {outcome.error}")
    elif outcome.status == "cancelled":
        notify("info", f"Action {outcome.action_id} cancelled: {outcome.reason}")
    else:
        notify("info", outcome.reason or "Nothing was done.")


def run_due(as_of: dt.date) -> None:
    with common.cursor() as con:
        report = actions.run_due(con, as_of, export_dir())
    parts = [f"{len(report.carried_out)} carried out"]
    if report.cancelled:
        parts.append(f"{len(report.cancelled)} cancelled (items settled)")
    if report.failed:
        parts.append(f"{len(report.failed)} failed")
    notify(
        "error" if report.failed else "success",
        "Due automatic actions: " + ", ".join(parts) + ".",
    )


# ---------------------------------------------------------------------------
# The list


def filter_bar() -> tuple[str, dict]:
    view = st.segmented_control(
        "Show",
        list(VIEWS),
        format_func=VIEWS.get,
        default="all",
        key="actions_view",
        required=True,
    )
    with st.form("actions_filters", border=False):
        with st.container(horizontal=True):
            kind = st.selectbox(
                "Type",
                [None, *actions.TYPES],
                format_func=lambda t: (
                    "Any type" if t is None else actions.TYPE_LABELS[t]
                ),
                key="actions_type",
            )
            customer = st.text_input("Customer number", key="actions_customer")
            start = st.date_input("Planned from", value=None, key="actions_from")
            end = st.date_input("Planned to", value=None, key="actions_to")
        st.form_submit_button("Filter")
    filters = {
        "type": kind,
        "customer": customer.strip() or None,
        "planned_from": start,
        "planned_to": end,
    }
    return view or "all", filters


def listed(con, view: str, filters: dict, as_of: dt.date) -> list[dict]:
    if view == "due":
        return actions.listing(con, status="planned", due_by=as_of, **filters)
    status = None if view == "all" else view
    return actions.listing(con, status=status, **filters)


def actions_table(rows: list[dict]) -> list[int]:
    """The actions as a table; the ticked rows, as action ids at once."""
    if not rows:
        st.caption("No action matches.")
        return []
    language = common.language()
    frame = pd.DataFrame(
        {
            "Action": [r["action_id"] for r in rows],
            "Customer": [
                common.customer_label(r["customer_number"], r["customer_name"])
                for r in rows
            ],
            "Type": [actions.TYPE_LABELS[r["type"]] for r in rows],
            "Status": [status_label(r) for r in rows],
            "Mode": [actions.MODE_LABELS[r["mode"]] for r in rows],
            "Planned for": [r["planned_for"] for r in rows],
            "Carried out": pd.to_datetime(
                pd.Series([r["executed_at"] for r in rows], dtype="object")
            ),
            "At validation": [amounts(r["totals"], language) for r in rows],
            "Claimed when carried out": [
                amounts(r["totals_claimed"] or {}, language) for r in rows
            ],
            "Items": [r["items"] for r in rows],
            "Subject": [r["rendered_subject"] for r in rows],
            "Error or reason": [r["error"] or r["cancel_reason"] or "" for r in rows],
        }
    )
    picked = st.dataframe(
        frame,
        hide_index=True,
        on_select="rerun",
        selection_mode="multi-row",
        key="actions_table",
        column_config={
            "Action": st.column_config.NumberColumn("Action", format="%d"),
            "Planned for": common.date_column("Planned for", language),
            "Carried out": st.column_config.DatetimeColumn(
                "Carried out", format="DD/MM/YYYY HH:mm"
            ),
            "At validation": common.money_column("Amount at validation"),
            "Claimed when carried out": common.money_column(
                "Amount claimed when carried out"
            ),
        },
    )
    positions = picked.selection.rows if picked else []
    return [rows[position]["action_id"] for position in positions]


def newly_ticked(ticked: list[int]) -> int | None:
    """The action just ticked (to open it), if one was added since the last run."""
    before = set(st.session_state.get(TICKED, ()))
    st.session_state[TICKED] = tuple(ticked)
    added = [action_id for action_id in ticked if action_id not in before]
    return added[-1] if added else None


def batch_section(con, rows: list[dict], ticked: list[int]) -> None:
    """The ticked actions together: their letters in one PDF, or everything in a
    ZIP with a summary; both are made when clicked."""
    letter_ids = {r["action_id"] for r in rows if r["type"] in letters.LETTER_TYPES}
    has_letters = any(action_id in letter_ids for action_id in ticked)
    with st.container(horizontal=True, vertical_alignment="center"):
        st.caption(
            f"{len(ticked)} action(s) ticked"
            if ticked
            else "Tick actions to download them together."
        )
        st.download_button(
            "Letters in one PDF",
            data=functools.partial(_made, actions.letters_pdf, con, list(ticked)),
            file_name="letters.pdf",
            mime="application/pdf",
            key="actions_batch_pdf",
            on_click="ignore",
            disabled=not has_letters,
            help=None if has_letters else "Tick at least one letter.",
        )
        st.download_button(
            "ZIP of the files, with a summary",
            data=functools.partial(_made, actions.bundle, con, list(ticked)),
            file_name="actions.zip",
            mime="application/zip",
            key="actions_batch_zip",
            on_click="ignore",
            disabled=not ticked,
        )


def _made(work, con, action_ids: list[int]) -> bytes:
    """Make a batch file on the click's own thread, with a cursor of its own."""
    with con.cursor() as own:
        return work(own, action_ids)


def status_label(row: dict) -> str:
    if row["is_due"]:
        return "Due"
    return actions.STATUS_LABELS[row["status"]]


def amounts(totals: dict, language: str) -> str:
    return formatting.totals(
        {currency: t["amount_selected"] for currency, t in totals.items()}, language
    )


def open_picker(rows: list[dict], clicked: int | None) -> int | None:
    """The action shown below: the row just clicked, or one picked by number."""
    if clicked != st.session_state.get(LAST_CLICK):
        st.session_state[LAST_CLICK] = clicked
        if clicked is not None:
            st.session_state["actions_open"] = clicked
    numbers = [r["action_id"] for r in rows]
    current = st.session_state.get("actions_open")
    if current is not None and current not in numbers:
        numbers = [current, *numbers]
    if not numbers:
        return None
    labels = {r["action_id"]: r for r in rows}
    return st.selectbox(
        "Open action",
        numbers,
        index=None,
        format_func=lambda n: _open_label(n, labels.get(n)),
        key="actions_open",
        placeholder="Click a row above, or choose an action",
    )


def _open_label(number: int, row: dict | None) -> str:
    if row is None:
        return f"#{number}"
    return (
        f"#{number} — {actions.TYPE_LABELS[row['type']]} — "
        f"{common.customer_label(row['customer_number'], row['customer_name'])}"
    )


# ---------------------------------------------------------------------------
# One action


def action_details(con, action_id: int, as_of: dt.date, key: str) -> None:
    """An action with its items at validation, claimed when carried out and now,
    its text, its file and its events."""
    shown = actions.show(con, action_id, as_of)
    language = common.language()
    prefix = f"{key}_{action_id}"
    with st.container(border=True):
        st.subheader(
            f"Action #{action_id} — {actions.TYPE_LABELS[shown['type']]} — "
            f"{actions.STATUS_LABELS[shown['status']]}"
        )
        summary(shown, language)
        st.markdown(
            f"**Items, at the action and at {formatting.date(as_of, language)}**"
        )
        st.caption(
            "Each item at validation (never changed), as claimed when the action "
            "was carried out (blank until then, and for an item dropped as "
            "settled), and now."
        )
        items_table(shown["items"], language)
        text_and_file(con, shown, prefix)
        controls(con, shown, prefix)
        with st.expander("History of the action"):
            st.dataframe(
                pd.DataFrame(shown["events"]).rename(
                    columns={
                        "happened_at": "When",
                        "author": "Who",
                        "event": "What",
                        "detail": "Detail",
                    }
                ),
                hide_index=True,
            )


def summary(shown: dict, language: str) -> None:
    lines = [
        f"**Customer:** {common.markdown_text(shown['customer_number'])}",
        f"**Planned for:** {formatting.date(shown['planned_for'], language)} "
        f"({actions.MODE_LABELS[shown['mode']].lower()})",
        f"**Created:** {shown['created_at']:%Y-%m-%d %H:%M} by "
        f"{common.markdown_text(shown['created_by'])}",
    ]
    if shown["executed_at"]:
        lines.append(f"**Carried out:** {shown['executed_at']:%Y-%m-%d %H:%M}")
    recipients = shown["recipients"]
    if shown["type"] == "email" and recipients.to:
        lines.append(
            "**To:** " + common.markdown_text(", ".join(str(m) for m in recipients.to))
        )
    if recipients.cc:
        lines.append(
            "**Cc:** " + common.markdown_text(", ".join(str(m) for m in recipients.cc))
        )
    if shown["delivery"]:
        lines.append(f"**Delivery:** {common.markdown_text(shown['delivery'])}")
    for label, totals in (
        ("At validation", shown["totals"]),
        ("Claimed when carried out", shown["totals_claimed"] or {}),
    ):
        for currency, t in totals.items():
            text = _claim_text(t, currency, language)
            lines.append(f"**{label} ({currency}):** {text}")
    now = formatting.totals(shown["totals_now"], language) or "nothing"
    lines.append(
        f"**Open now ({formatting.date(shown['as_of_now'], language)}):** "
        f"{common.markdown_text(now)}"
    )
    st.markdown("  \n".join(lines))
    if shown["error"]:
        st.error(f"Failed: {shown['error']}")
    if shown["cancel_reason"]:
        st.info(f"Cancelled: {shown['cancel_reason']}")


def _claim_text(t: dict, currency: str, language: str) -> str:
    return (
        f"{formatting.money(t['amount_selected'], currency, language)} + "
        f"penalties {formatting.money(t['penalties'], currency, language)} = "
        f"{formatting.money(t['amount_including_penalties'], currency, language)}"
    )


# The items table: each column's key in the frame, and the label shown. "then" is
# at validation; "claimed" what carrying out claimed (blank until then).
ITEM_COLUMNS = {
    "Open amount then": "Open amount at validation",
    "Days late then": "Days late at validation",
    "Penalty then": "Penalty at validation",
    "Open amount claimed": "Open amount claimed when carried out",
    "Days late claimed": "Days late claimed",
    "Penalty claimed": "Penalty claimed",
    "Open amount now": "Open amount now",
}


def items_table(items: list[dict], language: str) -> None:
    def money(key: str) -> list[str]:
        return [common.money_cell(i[key], i["currency"], language) for i in items]

    def days(key: str):
        return pd.array([i[key] for i in items], dtype="Int64")

    frame = pd.DataFrame(
        {
            "Document": [i["doc_number"] for i in items],
            "Due date": [formatting.date(i["due_date"], language) for i in items],
            "Open amount then": money("open_amount_at_action"),
            "Days late then": days("days_late_at_action"),
            "Penalty then": money("penalty_at_action"),
            "Open amount claimed": money("open_amount_claimed"),
            "Days late claimed": days("days_late_claimed"),
            "Penalty claimed": money("penalty_claimed"),
            "Open amount now": money("open_amount_now"),
            "Status now": [actions.status_now_label(i) for i in items],
            "Dropped": [i["dropped_reason"] or "" for i in items],
        }
    )
    config = {
        name: (
            st.column_config.NumberColumn(label, format="%d")
            if name.startswith("Days")
            else common.money_column(label)
        )
        for name, label in ITEM_COLUMNS.items()
    }
    common.show_table(frame, column_config=config)


def text_and_file(con, shown: dict, prefix: str) -> None:
    with st.expander("Text of the action", expanded=False):
        st.markdown(f"**{common.markdown_text(shown['rendered_subject'] or '')}**")
        if shown["rendered_html"]:
            st.html(shown["rendered_html"])
        else:
            st.text(shown["rendered_text"] or "")
    found = actions.output(con, shown["action_id"])
    if found:
        name, data, mime = found
        st.download_button(
            f"Download {name}",
            data,
            file_name=name,
            mime=mime,
            key=f"{prefix}_download",
            on_click="ignore",
        )


def controls(con, shown: dict, prefix: str) -> None:
    """Reschedule, cancel, retry, carry out, resend, resolve disputes."""
    action_id, status = shown["action_id"], shown["status"]
    if status in ("planned", "failed"):
        with st.container(horizontal=True, vertical_alignment="bottom"):
            if status == "planned":
                st.button(
                    "Carry out now",
                    key=f"{prefix}_carry_out",
                    type="primary",
                    on_click=_guarded,
                    args=(carry_out, action_id),
                )
                st.date_input(
                    "New date", value=shown["planned_for"], key=f"{prefix}_date"
                )
                st.button(
                    "Reschedule",
                    key=f"{prefix}_reschedule",
                    on_click=_guarded,
                    args=(_reschedule, action_id, f"{prefix}_date"),
                )
            else:
                st.button(
                    "Retry",
                    key=f"{prefix}_retry",
                    type="primary",
                    on_click=_guarded,
                    args=(_retry, action_id),
                )
            st.text_input("Reason to cancel", key=f"{prefix}_reason")
            st.button(
                "Cancel action",
                key=f"{prefix}_cancel",
                on_click=_guarded,
                args=(_cancel, action_id, f"{prefix}_reason"),
            )
    if status == "done":
        dispute_offer(con, action_id, prefix)
        confirm = st.checkbox(
            "Send it again (recorded as a resend)", key=f"{prefix}_resend_ok"
        )
        st.button(
            "Resend",
            key=f"{prefix}_resend",
            disabled=not confirm,
            on_click=_guarded,
            args=(_resend, action_id, f"{prefix}_resend_ok"),
        )


def _reschedule(action_id: int, date_key: str) -> None:
    with common.cursor() as con:
        actions.reschedule(con, action_id, st.session_state[date_key])
    notify("success", f"Action {action_id} rescheduled.")


def _retry(action_id: int) -> None:
    with common.cursor() as con:
        actions.retry(con, action_id)
    notify("success", f"Action {action_id} is planned again.")


def _cancel(action_id: int, reason_key: str) -> None:
    with common.cursor() as con:
        actions.cancel(con, action_id, st.session_state.get(reason_key, ""))
    notify("success", f"Action {action_id} cancelled.")


def _resend(action_id: int, confirm_key: str) -> None:
    st.session_state[confirm_key] = False
    with common.cursor() as con:
        outcome = actions.resend(con, action_id, export_dir())
    describe(outcome)


def dispute_offer(con, action_id: int, prefix: str, notice: str = NOTICE) -> None:
    """Once an action on disputed items is done: is the dispute resolved? The
    answer is left as a notice under the session key `notice`."""
    disputed = actions.disputed_items(con, action_id)
    if not disputed:
        return
    st.info(
        f"{len(disputed)} item(s) of action #{action_id} are disputed. Is the "
        "dispute resolved?"
    )
    st.button(
        "Mark dispute resolved",
        key=f"{prefix}_resolved",
        on_click=resolve_disputes,
        args=(action_id, notice),
    )


def resolve_disputes(action_id: int, notice: str = NOTICE) -> None:
    """The click: the action's disputed items marked dispute resolved."""
    try:
        with common.cursor() as con:
            count = actions.mark_dispute_resolved(con, action_id)
    except DunningError as error:
        notify("error", f"**{error.title}.** {error}", notice)
        return
    notify("success", f"{count} item(s) marked dispute resolved.", notice)
    common.data_changed()


# ---------------------------------------------------------------------------
# A customer's actions (used by the customer record)


def history(con, customer_number: str, as_of: dt.date) -> None:
    """A customer's actions, newest last; one click opens one."""
    rows = actions.listing(con, customer=customer_number)
    key = f"customer_actions_{customer_number}"
    chosen = actions_table_for(rows, key)
    if chosen is not None:
        action_details(con, chosen, as_of, key=key)


def actions_table_for(rows: list[dict], key: str) -> int | None:
    if not rows:
        st.caption("No action yet.")
        return None
    language = common.language()
    picked = st.dataframe(
        pd.DataFrame(
            {
                "Action": [r["action_id"] for r in rows],
                "Type": [actions.TYPE_LABELS[r["type"]] for r in rows],
                "Status": [status_label(r) for r in rows],
                "Planned for": [r["planned_for"] for r in rows],
                "At validation": [amounts(r["totals"], language) for r in rows],
                "Claimed when carried out": [
                    amounts(r["totals_claimed"] or {}, language) for r in rows
                ],
                "Subject": [r["rendered_subject"] for r in rows],
            }
        ),
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key=key,
        column_config={
            "At validation": common.money_column("Amount at validation"),
            "Claimed when carried out": common.money_column(
                "Amount claimed when carried out"
            ),
        },
    )
    positions = picked.selection.rows if picked else []
    return rows[positions[0]]["action_id"] if positions else None


if __name__ == "__main__":
    try:
        main()
    except DunningError as error:
        common.show_error(error)

"""Actions: a reminder or task on chosen items of one customer, from validation to
its output, carried out at most once (DESIGN 10).

An action is written with its items as they were (action_items: open amount, days
late, interest, indemnity, penalty) and a 'created' event, in one transaction. Its
statuses are planned, done, failed and cancelled, plus `running`: the short-lived
claim taken by whoever carries it out. Carrying out starts with one guarded state
change, `UPDATE ... WHERE status = 'planned'`, in its own transaction, and its row
count: of two runs, two cursors or two clicks, exactly one changes the row and
produces the output; the other changes nothing and stops. DuckDB reports two
transactions that both try the change as a conflict, which counts as "someone else
has it". (RETURNING is not used: with it, DuckDB 2.0.1 can miss that conflict.) Sending
again is `resend`, an explicit and recorded choice.

At run time the items are checked again at the run date: all settled (nothing owed
in any currency) -> the action is cancelled with that reason; some settled or
amounts changed -> it is carried out on the still-open ones, re-rendered, and the
dropped ones are marked in action_items. The snapshot taken at validation (the
action's `totals`, each item's open amount, days late, interest, indemnity and
penalty) never changes afterwards; carrying out stores what it claimed beside it
(`totals_claimed`, the items' `*_claimed` columns), and the rendered subject and
text become those of the output. So an action shows three views of each item: at
validation, claimed when carried out, and open now.

Validating also says what deserves a second look without refusing it (`checks`):
a template written for another channel, a planned date in the past, items that
another action claimed recently or still plans to claim (`recent_claims`).

`deliver` chooses the output by type: letters become a PDF; an email is sent by
SMTP when sending is configured (`settings.smtp`) and kept as an .eml file beside
the letters as its record, or only written as the .eml when it is not (and in a
dry run); SMS and call tasks are recorded with their text. The event of the run
says which. `letters_pdf` and `bundle` gather the output of several actions.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from dunning import (
    clock,
    customers,
    exporting,
    formatting,
    ledger,
    letters,
    money,
    penalties,
    qualification,
    sending,
    settings,
    store,
)
from dunning.errors import DunningError, InvalidValue, NotFound

log = logging.getLogger(__name__)

TYPES = ("email", "letter", "letter_ar", "formal_notice", "sms", "call")
TYPE_LABELS = {
    "email": "Email",
    "letter": "Letter",
    "letter_ar": "Letter with acknowledgement of receipt",
    "formal_notice": "Formal notice",
    "sms": "SMS text",
    "call": "Phone call task",
}
# The template channel that suits each action type (templates.CHANNELS).
CHANNEL_OF = {
    "email": "email",
    "letter": "letter",
    "letter_ar": "letter",
    "formal_notice": "letter",
    "sms": "sms",
    "call": "call",
}
# Types whose output shows a subject line: an empty subject blocks them.
SUBJECT_TYPES = ("email", "letter", "letter_ar", "formal_notice")
# A done action claimed its items "recently" for this many days (recent_claims).
RECENT_DAYS = 7
# The types as nouns inside a sentence.
TYPE_NOUNS = {
    "email": "email",
    "letter": "letter",
    "letter_ar": "letter with acknowledgement of receipt",
    "formal_notice": "formal notice",
    "sms": "SMS text",
    "call": "phone-call task",
}
MODES = ("confirm", "auto")
MODE_LABELS = {"confirm": "To be confirmed", "auto": "Automatic"}
# `running` is the claim held while an action is carried out; it lasts seconds.
STATUSES = ("planned", "running", "done", "failed", "cancelled")
STATUS_LABELS = {
    "planned": "Planned",
    "running": "Being carried out",
    "done": "Done",
    "failed": "Failed",
    "cancelled": "Cancelled",
}
TOTAL_KEYS = (
    "amount_selected",
    "interest",
    "indemnity",
    "penalties",
    "amount_including_penalties",
)
# A claim older than this belongs to a run that died; retry may release it.
STALE_CLAIM = dt.timedelta(minutes=10)
LISTING_LIMIT = 500


@dataclass(frozen=True)
class Outcome:
    """What one carrying out did."""

    action_id: int
    status: str
    carried_out: bool
    output: Path | None = None
    message_id: str | None = None
    dropped: tuple[str, ...] = ()
    reason: str | None = None
    error: str | None = None
    disputed_item_ids: tuple[int, ...] = ()
    sent: bool = False  # an email handed to the SMTP server (not only written)


@dataclass
class RunReport:
    """What run_due did: ids carried out, failures and cancellations with why."""

    carried_out: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    cancelled: list[tuple[int, str]] = field(default_factory=list)
    outputs: list[Path] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)  # emails sent by SMTP
    dry_run: bool = False

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "carried_out": self.carried_out,
            "sent": self.sent,
            "failed": [{"action_id": i, "error": e} for i, e in self.failed],
            "cancelled": [{"action_id": i, "reason": r} for i, r in self.cancelled],
        }
        if self.dry_run:
            data["dry_run"] = True
            data["files"] = [str(path) for path in self.outputs]
        return data


@dataclass(frozen=True)
class Check:
    """An action's items at the run date: still open (with the amount now), gone."""

    day: dt.date
    open_now: dict[int, Decimal]
    settled: tuple[dict[str, Any], ...]
    changed: bool  # an open amount differs from the one at validation
    totals_now: dict[str, Decimal] = field(default_factory=dict)

    @property
    def all_settled(self) -> bool:
        """Nothing owed in any currency: a reminder would claim only credits."""
        return not any(amount > 0 for amount in self.totals_now.values())


@dataclass(frozen=True)
class Checks:
    """What stops a draft from being validated, and what deserves a second look."""

    blocking: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Validation:
    """A validated action: its number and the warnings it was validated with."""

    action_id: int
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Delivery:
    """What carrying out produced: an export file, a message id, or neither; for
    an email, what the SMTP server accepted (None: written as .eml only)."""

    export_file: Path | None = None
    message_id: str | None = None
    sent: sending.Sent | None = None


def current_time() -> dt.datetime:
    """Now, on the date clock.today() gives (fixed in tests and replays)."""
    return dt.datetime.combine(clock.today(), dt.datetime.now().time())


# ---------------------------------------------------------------------------
# Creating


def create(con: duckdb.DuckDBPyConnection, *args, **kwargs) -> int:
    """Validate an action (`validate`, same arguments) and return its number."""
    return validate(con, *args, **kwargs).action_id


def validate(
    con: duckdb.DuckDBPyConnection,
    customer_number: str,
    item_ids: Iterable[int],
    type: str,
    subject: str,
    body: str,
    planned_for: dt.date | str | None = None,
    mode: str = "confirm",
    as_of: dt.date | str | None = None,
    template: str | None = None,
    recipients: sending.Recipients | dict | None = None,
    campaign_id: int | None = None,
    author: str | None = None,
    include_disputed: bool = False,
    attach_statement: bool = False,
) -> Validation:
    """Validate an action: render it, refuse it while something blocks, then store
    it with its items as they are and a 'created' event, in one transaction. Its
    warnings (the preview's, then those of `checks`) come back with its number."""
    from dunning import rendering

    # The values: type, mode, dates, items of this customer open at the as-of date.
    kind, mode = _choice("type", type, TYPES), _choice("mode", mode, MODES)
    day = clock.as_of_or_today(as_of)
    planned = clock.parse_iso(planned_for, "planned date") if planned_for else day
    record = customers.get(con, customer_number)
    ids = _checked_items(con, customer_number, item_ids, day)
    chosen = _recipients(con, customer_number, kind, recipients)
    who = qualification.author_or_default(author)

    # The rendering with the real values; validation waits until nothing blocks.
    preview = rendering.preview(
        con,
        customer_number,
        ids,
        day,
        subject,
        body,
        action_date=planned,
        contact=_contact(con, customer_number, chosen),
        include_disputed=include_disputed,
    )
    found = checks(
        con,
        kind,
        preview,
        ids,
        planned,
        template=template,
        language=record.get("language"),
    )
    blocking = (*preview.blocking, *found.blocking)
    if blocking:
        raise InvalidValue("The action cannot be validated yet: " + " ".join(blocking))
    if kind == "email":
        sending.header_text("subject", preview.subject)

    # The action, its items as they are now and its first event, together.
    stamp = current_time()
    with store.transaction(con):
        action_id = con.execute("SELECT nextval('action_ids')").fetchone()[0]
        con.execute(
            """
            INSERT INTO actions (action_id, customer_number, type, status, mode,
                planned_for, as_of, template, subject, body, rendered_subject,
                rendered_text, rendered_html, recipients, totals, campaign_id,
                include_disputed, attach_statement, created_at, created_by)
            VALUES (?, ?, ?, 'planned', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                action_id,
                record["customer_number"],
                kind,
                mode,
                planned,
                day,
                template,
                subject or "",
                body or "",
                preview.subject,
                preview.text,
                preview.html,
                json.dumps(chosen.as_json()),
                totals_json(preview.assessment.totals),
                campaign_id,
                bool(include_disputed),
                bool(attach_statement),
                stamp,
                who,
            ],
        )
        _insert_items(con, action_id, preview.assessment.items)
        _event(con, action_id, stamp, who, "created", _created_detail(planned, mode))
    log.info("action %s created", action_id)
    return Validation(action_id, (*preview.warnings, *found.warnings))


def checks(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    preview: Any,
    item_ids: Iterable[int],
    planned_for: dt.date | None,
    template: str | None = None,
    language: str | None = "fr",
    exclude_action: int | None = None,
) -> Checks:
    """The rules of validating that depend on the action, beside the preview's:
    an email, letter or formal notice needs a subject (blocking); a template of
    another channel, a planned date in the past and items claimed by another
    action recently or still planned are warnings."""
    blocking, warnings = [], []
    if kind in SUBJECT_TYPES and not (preview.subject or "").strip():
        blocking.append(
            f"The subject is empty: {_a(TYPE_NOUNS[kind])} needs one (only SMS "
            "texts and phone-call tasks go without)."
        )
    mismatch = _channel_warning(con, kind, template)
    if mismatch:
        warnings.append(mismatch)
    today = clock.today()
    if planned_for is not None and planned_for < today:
        warnings.append(
            f"Planned for {formatting.date(planned_for, language)}, in the past: it "
            "is due at once."
        )
    since = today - dt.timedelta(days=RECENT_DAYS)
    claims = [
        c
        for c in recent_claims(con, item_ids, since)
        if c["action_id"] != exclude_action
    ]
    warnings += claim_warnings(claims, language)
    return Checks(tuple(blocking), tuple(warnings))


def _channel_warning(con, kind: str, template: str | None) -> str | None:
    """A warning when the template is written for another channel than the type."""
    from dunning import templates

    if not template:
        return None
    try:
        channel = templates.get(con, template).channel
    except DunningError:
        return None  # a template deleted since: nothing to compare
    if channel == CHANNEL_OF[kind]:
        return None
    return (
        f"The template {template} is written for the {channel} channel, and this "
        f"action is {_a(TYPE_NOUNS[kind])}: check that its text suits "
        f"{_a(TYPE_NOUNS[kind])}, or change the action type."
    )


def _a(noun: str) -> str:
    return f"an {noun}" if noun[:1] in "aeiou" else f"a {noun}"


def recent_claims(
    con: duckdb.DuckDBPyConnection,
    item_ids: Iterable[int],
    since: dt.date,
) -> list[dict[str, Any]]:
    """Actions that claim some of these items: every one still to come (planned,
    running or failed, whatever its date) and those done or validated since
    `since`; cancelled ones and items dropped as settled do not count. One row
    per item and action, newest action first."""
    ids = sorted({int(i) for i in item_ids})
    if not ids:
        return []
    cursor = con.execute(
        """
        SELECT x.item_id, x.doc_number, a.action_id, a.type, a.status,
               a.planned_for, a.executed_at, a.created_at
        FROM action_items x JOIN actions a USING (action_id)
        WHERE x.item_id IN (SELECT unnest($ids::BIGINT[]))
          AND x.dropped_at IS NULL AND a.status <> 'cancelled'
          AND (a.status IN ('planned', 'running', 'failed')
               OR coalesce(a.executed_at, a.created_at) >= $since::TIMESTAMP)
        ORDER BY a.action_id DESC, x.doc_number
        """,
        {"ids": ids, "since": since},
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def claim_warnings(claims: Iterable[dict], language: str | None = "fr") -> list[str]:
    """One sentence per action of `recent_claims`: 'FA-004 was claimed by action
    #24 (email, done 15/09/2025)'."""
    by_action: dict[int, list[dict]] = {}
    for claim in claims:
        by_action.setdefault(claim["action_id"], []).append(claim)
    sentences = []
    for action_id, rows in by_action.items():
        first = rows[0]
        docs = [row["doc_number"] for row in rows]
        verb = "was" if len(docs) == 1 else "were"
        planned = formatting.date(first["planned_for"], language)
        when = {
            "done": f"done {formatting.date(first['executed_at'], language)}",
            "running": "being carried out",
            "failed": f"failed, planned for {planned}",
        }.get(first["status"], f"planned for {planned}")
        sentences.append(
            f"{', '.join(docs)} {verb} claimed by action #{action_id} "
            f"({TYPE_NOUNS[first['type']]}, {when}): make sure this "
            "is not the same reminder twice."
        )
    return sentences


def _choice(what: str, value: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise InvalidValue(f"Action {what} {value!r}: use one of {', '.join(allowed)}.")
    return value


def _checked_items(
    con, customer_number: str, item_ids: Iterable[int], as_of: dt.date
) -> list[int]:
    """The chosen items, each of this customer and open at the as-of date."""
    ids = sorted({int(i) for i in item_ids})
    if not ids:
        raise InvalidValue("The action has no items: choose at least one item.")
    rows = con.execute(
        f"""
        SELECT i.item_id, i.customer_number, i.doc_number, o.item_id IS NOT NULL
        FROM items i LEFT JOIN ({ledger.items_at()}) o USING (item_id)
        WHERE i.item_id IN (SELECT unnest($ids::BIGINT[])) ORDER BY i.doc_number
        """,
        {"as_of": as_of, "ids": ids},
    ).fetchall()
    found = {row[0] for row in rows}
    if len(found) != len(ids):
        raise NotFound("Some chosen items no longer exist: choose the items again.")
    others = [doc for _, customer, doc, _ in rows if customer != customer_number]
    if others:
        raise InvalidValue(
            f"The items {', '.join(others)} are not items of customer "
            f"{customer_number}: an action covers one customer's items."
        )
    closed = [doc for _, _, doc, is_open in rows if not is_open]
    if closed:
        raise InvalidValue(
            f"The items {', '.join(closed)} are not open at {as_of.isoformat()}: "
            "remove them from the selection."
        )
    return ids


def _recipients(con, customer_number: str, kind: str, given) -> sending.Recipients:
    """The recipients given, checked; else the customer's default recipient. An
    email action needs one to be validated."""
    if given is None:
        chosen = sending.recipients(con, customer_number)
    elif isinstance(given, sending.Recipients):
        chosen = given
    else:
        chosen = sending.Recipients(
            to=_mailboxes("To", given.get("to")),
            cc=_mailboxes("Cc", given.get("cc")),
            fallback_note=given.get("fallback_note"),
        )
    chosen = sending.Recipients(
        to=tuple(sending.mailbox("To", m.name, m.email) for m in chosen.to),
        cc=tuple(sending.mailbox("Cc", m.name, m.email) for m in chosen.cc),
        fallback_note=chosen.fallback_note,
        disabled_reason=chosen.disabled_reason if not chosen.to else None,
    )
    if kind == "email" and not chosen.sendable:
        raise InvalidValue(
            chosen.disabled_reason
            or "The email has no recipient: give at least one To address."
        )
    return chosen


def _mailboxes(field_name: str, values) -> tuple[sending.Mailbox, ...]:
    """Mailboxes given as Mailbox, (name, email) pairs or text lines."""
    if not values:
        return ()
    if isinstance(values, str):
        return sending.parse_mailboxes(field_name, values)
    found: list[sending.Mailbox] = []
    for value in values:
        if isinstance(value, str):
            found.extend(sending.parse_mailboxes(field_name, value))
        else:
            found.append(sending.mailbox(field_name, value[0], value[1]))
    return tuple(found)


def _contact(con, customer_number: str, chosen: sending.Recipients) -> dict | None:
    """The contact a reminder is addressed to (for #contact_name)."""
    contacts = customers.contacts(con, customer_number)
    if chosen.to:
        wanted = chosen.to[0].email.lower()
        for contact in contacts:
            if wanted in (contact["email"] or "").lower():
                return contact
        return {"name": chosen.to[0].name, "email": chosen.to[0].email, "role": None}
    return contacts[0] if contacts else None


def _insert_items(con, action_id: int, items: Sequence[Any]) -> None:
    """The items as they are at validation: the snapshot an action keeps."""
    for item in items:
        con.execute(
            """
            INSERT INTO action_items (action_id, item_id, doc_number, doc_type,
                currency, due_date, open_amount, days_late, interest, indemnity,
                indemnity_currency, penalty)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                action_id,
                item.item_id,
                item.doc_number,
                item.doc_type,
                item.currency,
                item.due_date,
                item.open_amount,
                item.days_late,
                item.interest,
                item.indemnity,
                item.indemnity_currency,
                item.penalty,
            ],
        )


def _created_detail(planned: dt.date, mode: str) -> str:
    return f"planned for {planned.isoformat()}, {MODE_LABELS[mode].lower()}"


def totals_json(totals: dict[str, Any]) -> str:
    """Per-currency totals as stored: {CUR: {amount_selected: "1234.56", ...}}."""
    return json.dumps(
        {
            currency: {key: money.as_text(getattr(t, key)) for key in TOTAL_KEYS}
            for currency, t in sorted(totals.items())
        }
    )


def totals_from_json(text: str | None) -> dict[str, dict[str, Decimal]]:
    """Stored totals back as Decimal."""
    data = json.loads(text or "{}")
    return {
        currency: {key: Decimal(value) for key, value in values.items()}
        for currency, values in data.items()
    }


def _event(con, action_id: int, at: dt.datetime, who: str, event: str, detail=None):
    con.execute(
        "INSERT INTO action_events VALUES (?, ?, ?, ?, ?)",
        [action_id, at, who, event, detail],
    )


# ---------------------------------------------------------------------------
# Changing


def reschedule(
    con: duckdb.DuckDBPyConnection,
    action_id: int,
    planned_for: dt.date | str,
    author: str | None = None,
    mode: str | None = None,
) -> None:
    """Move a planned action to another date (and mode)."""
    day = clock.parse_iso(planned_for, "planned date")
    action = get(con, action_id)
    new_mode = _choice("mode", mode, MODES) if mode else action["mode"]
    detail = f"from {action['planned_for'].isoformat()} to {day.isoformat()}"
    if new_mode != action["mode"]:
        detail += f", {MODE_LABELS[new_mode].lower()}"
    _change(
        con,
        action_id,
        ("planned",),
        "planned_for = ?, mode = ?",
        [day, new_mode],
        "rescheduled",
        detail,
        author,
    )


def cancel(
    con: duckdb.DuckDBPyConnection,
    action_id: int,
    reason: str,
    author: str | None = None,
) -> None:
    """Cancel a planned or failed action; the record and its items stay."""
    text = " ".join((reason or "").split())
    if not text:
        raise InvalidValue("Say why the action is cancelled: the reason is kept.")
    _change(
        con,
        action_id,
        ("planned", "failed"),
        "status = 'cancelled', cancel_reason = ?",
        [text],
        "cancelled",
        text,
        author,
    )


def retry(
    con: duckdb.DuckDBPyConnection,
    action_id: int,
    planned_for: dt.date | str | None = None,
    author: str | None = None,
) -> None:
    """Put a failed action back to planned (optionally on another date). A claim
    left by a run that died (running for more than 10 minutes) is released too."""
    action = get(con, action_id)
    day = clock.parse_iso(planned_for, "planned date") if planned_for else None
    if action["status"] == "running":
        claimed = action["claimed_at"]
        if claimed is not None and current_time() - claimed < STALE_CLAIM:
            raise InvalidValue(
                f"Action {action_id} is being carried out right now: wait for it "
                "to finish."
            )
    detail = f"planned for {day.isoformat()}" if day else None
    _change(
        con,
        action_id,
        ("failed", "running"),
        "status = 'planned', planned_for = coalesce(?, planned_for)",
        [day],
        "retried",
        detail,
        author,
    )


def _change(
    con,
    action_id: int,
    allowed: Sequence[str],
    assignments: str,
    params: list,
    event: str,
    detail: str | None,
    author: str | None,
) -> None:
    """One guarded change of an action and its event, in one transaction."""
    action = get(con, action_id)
    if action["status"] not in allowed:
        raise InvalidValue(
            f"Action {action_id} is {action['status']}: it can be {event} only "
            f"when {' or '.join(allowed)}."
        )
    who, stamp = qualification.author_or_default(author), current_time()
    with store.transaction(con):
        changed = con.execute(
            f"UPDATE actions SET {assignments} WHERE action_id = ? "
            "AND status IN (SELECT unnest(?::VARCHAR[]))",
            [*params, action_id, list(allowed)],
        ).fetchone()[0]
        if not changed:
            raise InvalidValue(
                f"Action {action_id} changed meanwhile: reload it and try again."
            )
        _event(con, action_id, stamp, who, event, detail)
    log.info("action %s %s", action_id, event)


# ---------------------------------------------------------------------------
# Carrying out


def carry_out(
    con: duckdb.DuckDBPyConnection,
    action_id: int,
    out_dir: Path | str,
    now: dt.datetime | None = None,
    author: str | None = None,
    as_of: dt.date | None = None,
) -> Outcome:
    """Carry out a planned action once: claim it, check its items at the run date,
    produce its output, record it. A second call finds it claimed and does nothing.
    """
    stamp = now or current_time()
    who = qualification.author_or_default(author)
    action = get(con, action_id)
    if not _claim(con, action_id, "planned", stamp):
        current = get(con, action_id)["status"]
        return Outcome(
            action_id,
            current,
            False,
            reason=f"Action {action_id} is {current}: it was not carried out again.",
        )
    run_day = max(action["as_of"], as_of or stamp.date())
    return _run_claimed(con, action, Path(out_dir), stamp, who, run_day, "done")


def resend(
    con: duckdb.DuckDBPyConnection,
    action_id: int,
    out_dir: Path | str,
    now: dt.datetime | None = None,
    author: str | None = None,
) -> Outcome:
    """Produce a done action's output again, on purpose; recorded as 'resent'."""
    stamp = now or current_time()
    who = qualification.author_or_default(author)
    action = get(con, action_id)
    if action["status"] != "done":
        raise InvalidValue(
            f"Action {action_id} is {action['status']}: only a done action can be "
            "sent again; carry it out instead."
        )
    if not _claim(con, action_id, "done", stamp):
        return Outcome(action_id, "done", False, reason="Another run is resending it.")
    ids = [i["item_id"] for i in _items(con, action_id) if i["dropped_at"] is None]
    day = action["run_as_of"] or action["as_of"]
    try:
        rendered = _render(con, action, ids, day)
        delivery = deliver(con, action, rendered, Path(out_dir), stamp)
    except Exception as error:
        message = _error_text(error)
        with store.transaction(con):
            con.execute(
                "UPDATE actions SET status = 'done' WHERE action_id = ?", [action_id]
            )
            _event(con, action_id, stamp, who, "resend_failed", message)
        log.warning("action %s resend failed (%s)", action_id, type(error).__name__)
        return Outcome(action_id, "done", False, error=message)
    with store.transaction(con):
        con.execute(
            "UPDATE actions SET status = 'done', export_file = ?, "
            "message_id = coalesce(?, message_id) WHERE action_id = ?",
            [_path_text(delivery.export_file), delivery.message_id, action_id],
        )
        _event(con, action_id, stamp, who, "resent", _output_detail(delivery))
    log.info("action %s resent", action_id)
    return Outcome(
        action_id,
        "done",
        True,
        delivery.export_file,
        delivery.message_id,
        sent=delivery.sent is not None,
    )


def _claim(con, action_id: int, from_status: str, stamp: dt.datetime) -> bool:
    """The one guarded state change that makes a run the only one."""
    try:
        with store.transaction(con):
            claimed = con.execute(
                """
                UPDATE actions SET status = 'running', claimed_at = ?,
                    attempts = attempts + 1
                WHERE action_id = ? AND status = ?
                """,
                [stamp, action_id, from_status],
            ).fetchone()[0]
    except duckdb.TransactionException:
        # Another transaction changed the row first: that run has it.
        return False
    return bool(claimed)


def _run_claimed(
    con, action: dict, out_dir: Path, stamp: dt.datetime, who: str, run_day, event
) -> Outcome:
    """Carry out a claimed action; any failure leaves it failed, retryable."""
    action_id = action["action_id"]
    try:
        check = recheck(con, action_id, run_day)
        if check.all_settled:
            reason = _settled_reason(check)
            _record_cancelled(con, action_id, check, reason, stamp, who)
            return Outcome(action_id, "cancelled", False, reason=reason)
        rendered, day = _final_rendering(con, action, check)
        delivery = deliver(con, action, rendered, out_dir, stamp)
        _record_done(con, action, check, rendered, day, delivery, stamp, who, event)
    except BaseException as error:
        message = _error_text(error)
        _record_failed(con, action_id, message, stamp, who)
        log.warning("action %s failed (%s)", action_id, type(error).__name__)
        if not isinstance(error, Exception):
            raise
        return Outcome(action_id, "failed", False, error=message)
    log.info("action %s carried out", action_id)
    return Outcome(
        action_id,
        "done",
        True,
        delivery.export_file,
        delivery.message_id,
        dropped=tuple(item["doc_number"] for item in check.settled),
        disputed_item_ids=disputed_items(con, action_id),
        sent=delivery.sent is not None,
    )


def recheck(con: duckdb.DuckDBPyConnection, action_id: int, day: dt.date) -> Check:
    """The action's items (not yet dropped) at `day`: open ones with their amount
    now, settled ones, and whether any open amount moved since validation."""
    items = [i for i in _items(con, action_id, day) if i["dropped_at"] is None]
    open_now = {i["item_id"]: i["open_amount_now"] for i in items if i["open_now"]}
    settled = tuple(i for i in items if not i["open_now"])
    changed = any(
        i["open_amount_now"] != i["open_amount_at_action"]
        for i in items
        if i["open_now"]
    )
    totals_now = money.totals_by_currency(
        (i["currency"], i["open_amount_now"]) for i in items if i["open_now"]
    )
    return Check(day, open_now, settled, changed, totals_now)


def _settled_reason(check: Check) -> str:
    if not check.open_now:
        return f"All items were settled by {check.day.isoformat()}."
    return (
        f"Nothing is owed any more on {check.day.isoformat()}: the credits among "
        "the items open are as large as what remains owed."
    )


def _final_rendering(con, action: dict, check: Check):
    """The text carried out: as validated when nothing moved; else re-rendered
    on the still-open items at the run date."""
    day = check.day if check.settled or check.changed else action["as_of"]
    return _render(con, action, sorted(check.open_now), day), day


def _render(con, action: dict, ids: Sequence[int], day: dt.date):
    from dunning import rendering

    chosen = sending.Recipients.from_json(json.loads(action["recipients"] or "{}"))
    rendered = rendering.preview(
        con,
        action["customer_number"],
        ids,
        day,
        action["subject"],
        action["body"],
        action_date=action["planned_for"],
        contact=_contact(con, action["customer_number"], chosen),
        include_disputed=action["include_disputed"],
    )
    if rendered.blocking:
        raise InvalidValue(
            "The action cannot be rendered: " + " ".join(rendered.blocking)
        )
    return rendered


def deliver(
    con: duckdb.DuckDBPyConnection,
    action: dict,
    rendered: Any,
    out_dir: Path,
    stamp: dt.datetime,
    send: bool = True,
) -> Delivery:
    """Produce an action's output by type: the PDF of a letter; an email sent by
    SMTP when sending is configured and `send` (not a dry run), its .eml kept as
    the record, else only the .eml; nothing for SMS and call tasks, whose
    rendered text is their record."""
    kind = action["type"]
    if kind in letters.LETTER_TYPES:
        return _letter(con, action, rendered, out_dir, stamp)
    if kind == "email":
        return _email(con, action, rendered, out_dir, stamp, send)
    return Delivery()


def _email(con, action: dict, rendered, out_dir: Path, stamp, send: bool) -> Delivery:
    """Write the .eml, then send the same message to the validated recipients.

    The file is written first so that a sent message always has its record; a
    sending that fails removes it again, and the action is stored as failed.
    """
    smtp = settings.smtp(con) if send else None
    message = email_message(con, action, rendered, stamp)
    path = sending.write_eml(message, out_dir, output_name(action))
    if smtp is None or not smtp.configured:
        return Delivery(path, message["Message-ID"])
    chosen = _stored_recipients(action)
    try:
        sent = sending.send(smtp, message, sending.envelope(chosen.to, chosen.cc))
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    log.info("action %s sent by SMTP", action["action_id"])
    return Delivery(path, sent.message_id, sent)


def _stored_recipients(action: dict) -> sending.Recipients:
    return sending.Recipients.from_json(json.loads(action["recipients"] or "{}"))


def _letter(con, action: dict, rendered, out_dir: Path, stamp) -> Delivery:
    html = letter_html(con, action, rendered, stamp.date())
    out_dir.mkdir(parents=True, exist_ok=True)
    path = sending.unused_path(out_dir, f"{output_name(action)}.pdf")
    path.write_bytes(letters.pdf(html))
    return Delivery(path)


def letter_html(con, action: dict, rendered, letter_date: dt.date) -> str:
    """The letter document of an action (screen preview and PDF)."""
    chosen = sending.Recipients.from_json(json.loads(action["recipients"] or "{}"))
    return letters.document(
        head=letters.letterhead(con),
        customer=customers.get(con, action["customer_number"]),
        kind=action["type"],
        letter_date=letter_date,
        subject=rendered.subject,
        body_html=rendered.html,
        contact_name=chosen.to[0].name if chosen.to else None,
        assessment=rendered.assessment,
    )


def email_message(
    con, action: dict, rendered, stamp: dt.datetime, message_id: str | None = None
):
    """The email of an action, its statement attached when asked."""
    chosen = _stored_recipients(action)
    attachment = None
    if action["attach_statement"]:
        customer = customers.get(con, action["customer_number"])
        html = letters.statement_document(
            head=letters.letterhead(con),
            customer=customer,
            assessment=rendered.assessment,
            as_of=rendered.assessment.as_of,
        )
        name = f"statement-{action['customer_number']}-{stamp.date().isoformat()}.pdf"
        attachment = sending.Attachment(sending.file_name(name), letters.pdf(html))
    return sending.build_message(
        sender=sending.sender(con),
        to=chosen.to,
        cc=chosen.cc,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        attachment=attachment,
        date=stamp,
        message_id=message_id,
    )


def output_name(action: dict) -> str:
    """The file name of an action's output, without its suffix."""
    return sending.file_name(
        f"action-{action['action_id']}-{action['customer_number']}-{action['type']}"
    ).rsplit(".", 1)[0]


def _record_done(con, action, check, rendered, day, delivery, stamp, who, event):
    """The action done: what it claimed stored beside the validated snapshot,
    which stays as it was."""
    action_id = action["action_id"]
    with store.transaction(con):
        _mark_dropped(con, action_id, check, stamp)
        _record_claimed(con, action_id, rendered.assessment.items)
        con.execute(
            """
            UPDATE actions SET status = 'done', executed_at = ?, export_file = ?,
                message_id = ?, rendered_subject = ?, rendered_text = ?,
                rendered_html = ?, totals_claimed = ?, run_as_of = ?, error = NULL
            WHERE action_id = ? AND status = 'running'
            """,
            [
                stamp,
                _path_text(delivery.export_file),
                delivery.message_id,
                rendered.subject,
                rendered.text,
                rendered.html,
                totals_json(rendered.assessment.totals),
                day,
                action_id,
            ],
        )
        if check.settled:
            docs = ", ".join(i["doc_number"] for i in check.settled)
            _event(
                con,
                action_id,
                stamp,
                who,
                "items_dropped",
                f"settled by {check.day.isoformat()}: {docs}",
            )
        _event(con, action_id, stamp, who, event, _output_detail(delivery))


def _record_claimed(con, action_id: int, items: Sequence[Any]) -> None:
    """Each item as the output claimed it (its figures at the run date)."""
    for item in items:
        con.execute(
            """
            UPDATE action_items SET open_amount_claimed = ?, days_late_claimed = ?,
                interest_claimed = ?, indemnity_claimed = ?, penalty_claimed = ?
            WHERE action_id = ? AND item_id = ?
            """,
            [
                item.open_amount,
                item.days_late,
                item.interest,
                item.indemnity,
                item.penalty,
                action_id,
                item.item_id,
            ],
        )


def _record_cancelled(con, action_id, check, reason, stamp, who) -> None:
    with store.transaction(con):
        _mark_dropped(con, action_id, check, stamp)
        con.execute(
            "UPDATE actions SET status = 'cancelled', cancel_reason = ?, "
            "run_as_of = ? WHERE action_id = ? AND status = 'running'",
            [reason, check.day, action_id],
        )
        _event(con, action_id, stamp, who, "cancelled", reason)
    log.info("action %s cancelled: items settled", action_id)


def _record_failed(con, action_id: int, message: str, stamp, who) -> None:
    with store.transaction(con):
        con.execute(
            "UPDATE actions SET status = 'failed', error = ? "
            "WHERE action_id = ? AND status = 'running'",
            [message, action_id],
        )
        _event(con, action_id, stamp, who, "failed", message)


def _mark_dropped(con, action_id: int, check: Check, stamp) -> None:
    for item in check.settled:
        con.execute(
            "UPDATE action_items SET dropped_at = ?, dropped_reason = ? "
            "WHERE action_id = ? AND item_id = ? AND dropped_at IS NULL",
            [
                stamp,
                f"settled by {check.day.isoformat()}",
                action_id,
                item["item_id"],
            ],
        )


def _error_text(error: BaseException) -> str:
    if isinstance(error, DunningError):
        return str(error)
    return f"{type(error).__name__}: {error}".strip().rstrip(":")


def _path_text(path: Path | None) -> str | None:
    return str(path) if path else None


def _output_detail(delivery: Delivery) -> str | None:
    """The delivery record of the event: sent by SMTP (and to how many), or the
    file written."""
    name = delivery.export_file.name if delivery.export_file else None
    sent = delivery.sent
    if sent is None:
        return f"written {name}" if name and name.endswith(".eml") else name
    detail = f"sent by SMTP to {len(sent.recipients)} recipient(s), kept as {name}"
    if sent.refused:
        detail += f"; refused by the server: {', '.join(sent.refused)}"
    return detail


# ---------------------------------------------------------------------------
# Due actions


@dataclass(frozen=True)
class Due:
    """A planned action whose date has come, with its items at the run date."""

    action: dict[str, Any]
    items: tuple[dict[str, Any], ...]
    settled: tuple[str, ...]
    totals_then: dict[str, Decimal]
    totals_now: dict[str, Decimal]

    @property
    def all_settled(self) -> bool:
        """Nothing owed now in any currency (see Check.all_settled)."""
        return not any(amount > 0 for amount in self.totals_now.values())


def due(con: duckdb.DuckDBPyConnection, day: dt.date | str | None = None) -> list[Due]:
    """Planned actions whose date has come (both modes), with their items' open
    amounts then and at `day`: what a click on "Carry out" would claim."""
    day = clock.as_of_or_today(day)
    rows = listing(con, status="planned", due_by=day)
    found = []
    for row in rows:
        items = tuple(_items(con, row["action_id"], max(day, row["as_of"])))
        kept = [i for i in items if i["dropped_at"] is None]
        found.append(
            Due(
                action=row,
                items=items,
                settled=tuple(i["doc_number"] for i in kept if not i["open_now"]),
                totals_then=money.totals_by_currency(
                    (i["currency"], i["open_amount_at_action"]) for i in kept
                ),
                totals_now=money.totals_by_currency(
                    (i["currency"], i["open_amount_now"]) for i in kept
                ),
            )
        )
    return found


def run_due(
    con: duckdb.DuckDBPyConnection,
    day: dt.date | str | None = None,
    out_dir: Path | str = "exports",
    dry_run: bool = False,
    author: str | None = None,
    now: dt.datetime | None = None,
) -> RunReport:
    """Carry out the automatic actions whose date has come; confirm-mode ones wait.

    A dry run writes the files those actions would produce (the .eml of an email,
    never a sending) and changes nothing in the workspace: the actions stay planned.
    """
    day = clock.as_of_or_today(day)
    stamp = now or current_time()
    report = RunReport(dry_run=dry_run)
    for row in listing(con, status="planned", type=None, due_by=day, mode="auto"):
        action_id = row["action_id"]
        if dry_run:
            _dry_run(con, row, Path(out_dir), stamp, max(day, row["as_of"]), report)
            continue
        outcome = carry_out(
            con, action_id, out_dir, now=stamp, author=author, as_of=day
        )
        if outcome.carried_out:
            report.carried_out.append(action_id)
            report.outputs.extend([outcome.output] if outcome.output else [])
            if outcome.sent:
                report.sent.append(action_id)
        elif outcome.status == "failed":
            report.failed.append((action_id, outcome.error or ""))
        elif outcome.status == "cancelled":
            report.cancelled.append((action_id, outcome.reason or ""))
    return report


def _dry_run(con, action, out_dir: Path, stamp, day, report: RunReport) -> None:
    """What carrying out would do, with its files, and no change of state."""
    action_id = action["action_id"]
    try:
        action = get(con, action_id)
        check = recheck(con, action_id, day)
        if check.all_settled:
            report.cancelled.append((action_id, _settled_reason(check)))
            return
        rendered, _ = _final_rendering(con, action, check)
        delivery = deliver(con, action, rendered, out_dir, stamp, send=False)
    except Exception as error:
        report.failed.append((action_id, _error_text(error)))
        return
    report.carried_out.append(action_id)
    report.outputs.extend([delivery.export_file] if delivery.export_file else [])


# ---------------------------------------------------------------------------
# Reading


def get(con: duckdb.DuckDBPyConnection, action_id: int) -> dict[str, Any]:
    """One action's stored row."""
    cursor = con.execute("SELECT * FROM actions WHERE action_id = ?", [action_id])
    names = [d[0] for d in cursor.description]
    row = cursor.fetchone()
    if row is None:
        raise NotFound(f"No action has the number {action_id}.")
    return dict(zip(names, row, strict=True))


def _items(con, action_id: int, day: dt.date | None = None) -> list[dict[str, Any]]:
    """An action's items: as they were at validation, as carrying out claimed
    them (None until then), and at `day`. `state_now` is open, paid (the ledger
    shows it paid) or closed (an import no longer lists it, or it is gone)."""
    cursor = con.execute(
        f"""
        SELECT a.item_id, a.doc_number, a.doc_type, a.currency, a.due_date,
               a.open_amount AS open_amount_at_action,
               a.days_late AS days_late_at_action, a.interest AS interest_at_action,
               a.indemnity AS indemnity_at_action, a.indemnity_currency,
               a.penalty AS penalty_at_action, a.dropped_at, a.dropped_reason,
               a.open_amount_claimed, a.days_late_claimed, a.interest_claimed,
               a.indemnity_claimed, a.penalty_claimed,
               coalesce(o.open_amount, 0.00)::DECIMAL(18,2) AS open_amount_now,
               o.item_id IS NOT NULL AS open_now, o.days_late AS days_late_now,
               i.status AS status_now,
               CASE WHEN o.item_id IS NOT NULL THEN 'open'
                    WHEN i.item_id IS NULL OR i.closed_by_import IS NOT NULL
                        THEN 'closed'
                    ELSE 'paid' END AS state_now
        FROM action_items a
        LEFT JOIN items i USING (item_id)
        LEFT JOIN ({ledger.items_at()}) o USING (item_id)
        WHERE a.action_id = $action
        ORDER BY a.due_date NULLS LAST, a.doc_number, a.item_id
        """,
        {"action": action_id, "as_of": day or clock.today()},
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


STATE_LABELS = {"paid": "Paid", "closed": "Closed (no longer in the ledger)"}


def status_now(item: dict[str, Any]) -> str:
    """An action item's status at the as-of date: its qualification (open,
    disputed...) while it is open, else paid or closed."""
    if item["state_now"] != "open":
        return item["state_now"]
    return item["status_now"] or "open"


def status_now_label(item: dict[str, Any]) -> str:
    """`status_now` as the UI writes it: Open, Disputed..., Paid, Closed."""
    status = status_now(item)
    return STATE_LABELS.get(status) or qualification.LABELS.get(status, status)


def events(con: duckdb.DuckDBPyConnection, action_id: int) -> list[dict[str, Any]]:
    """Every change of an action, oldest first."""
    cursor = con.execute(
        "SELECT happened_at, author, event, detail FROM action_events "
        "WHERE action_id = ? ORDER BY happened_at, rowid",
        [action_id],
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def show(
    con: duckdb.DuckDBPyConnection, action_id: int, as_of: dt.date | None = None
) -> dict[str, Any]:
    """An action with its items (at validation, claimed when carried out, and at
    the as-of date) and events. `totals` are those at validation, never changed;
    `totals_claimed` those carried out (None until then); `totals_now` the open
    amounts of its items at the as-of date `as_of_now`, per currency."""
    action = get(con, action_id)
    action["totals"] = totals_from_json(action["totals"])
    if action["totals_claimed"] is not None:
        action["totals_claimed"] = totals_from_json(action["totals_claimed"])
    action["recipients"] = sending.Recipients.from_json(
        json.loads(action["recipients"] or "{}")
    )
    action["as_of_now"] = as_of or clock.today()
    action["items"] = _items(con, action_id, action["as_of_now"])
    action["totals_now"] = money.totals_by_currency(
        (i["currency"], i["open_amount_now"]) for i in action["items"] if i["open_now"]
    )
    action["events"] = events(con, action_id)
    action["delivery"] = next(
        (
            e["detail"]
            for e in reversed(action["events"])
            if e["event"] in ("done", "resent") and e["detail"]
        ),
        None,
    )
    return action


def listing(
    con: duckdb.DuckDBPyConnection,
    customer: str | None = None,
    status: str | None = None,
    type: str | None = None,
    due_by: dt.date | None = None,
    planned_from: dt.date | None = None,
    planned_to: dt.date | None = None,
    mode: str | None = None,
    limit: int = LISTING_LIMIT,
) -> list[dict[str, Any]]:
    """Actions matching the filters, planned date first; `due_by` keeps planned
    actions whose date has come by that day."""
    if status is not None:
        _choice("status", status, STATUSES)
    if type is not None:
        _choice("type", type, TYPES)
    conditions, params = ["true"], {}
    for column, value in (
        ("a.customer_number", customer),
        ("a.status", status),
        ("a.type", type),
        ("a.mode", mode),
    ):
        if value is not None:
            name = column.split(".")[1]
            conditions.append(f"{column} = ${name}")
            params[name] = value
    for condition, name, value in (
        ("a.planned_for <= $due_by AND a.status = 'planned'", "due_by", due_by),
        ("a.planned_for >= $planned_from", "planned_from", planned_from),
        ("a.planned_for <= $planned_to", "planned_to", planned_to),
    ):
        if value is not None:
            conditions.append(condition)
            params[name] = value
    params["limit"] = limit
    params["today"] = clock.today()
    cursor = con.execute(
        f"""
        SELECT a.action_id, a.customer_number, c.name AS customer_name, a.type,
               a.status, a.mode, a.planned_for, a.as_of, a.executed_at,
               a.rendered_subject, a.template, a.totals, a.totals_claimed, a.error,
               a.cancel_reason,
               a.export_file, a.attempts, a.created_at, a.created_by,
               (SELECT count(*) FROM action_items x
                WHERE x.action_id = a.action_id) AS items,
               a.status = 'planned' AND a.planned_for <= $today AS is_due
        FROM actions a LEFT JOIN customers c USING (customer_number)
        WHERE {" AND ".join(conditions)}
        ORDER BY a.planned_for, a.action_id
        LIMIT $limit
        """,
        params,
    )
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    for row in rows:
        row["totals"] = totals_from_json(row["totals"])
        if row["totals_claimed"] is not None:
            row["totals_claimed"] = totals_from_json(row["totals_claimed"])
    return rows


def contents(con: duckdb.DuckDBPyConnection, limit: int = 200) -> list[dict[str, Any]]:
    """Earlier actions' subject and body as written, newest first, to reuse."""
    cursor = con.execute(
        """
        SELECT a.action_id, a.customer_number, c.name AS customer_name, a.type,
               a.subject, a.body, a.template, a.created_at
        FROM actions a LEFT JOIN customers c USING (customer_number)
        ORDER BY a.created_at DESC, a.action_id DESC LIMIT ?
        """,
        [limit],
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def output(
    con: duckdb.DuckDBPyConnection, action_id: int
) -> tuple[str, bytes, str] | None:
    """An action's output file (name, bytes, MIME type), for a download."""
    path_text = get(con, action_id)["export_file"]
    if not path_text:
        return None
    path = Path(path_text)
    try:
        data = path.read_bytes()
    except OSError:
        return None
    mime = "application/pdf" if path.suffix == ".pdf" else "message/rfc822"
    return path.name, data, mime


# ---------------------------------------------------------------------------
# Several actions at once: merged letters, a ZIP with a summary

BUNDLE_SUMMARY = "summary.csv"
SUMMARY_COLUMNS = (
    "action_id",
    "customer_number",
    "customer_name",
    "type",
    "status",
    "planned_for",
    "executed_at",
    "amounts_of",
    "currency",
    "amount_selected",
    "penalties",
    "amount_including_penalties",
    "file_name",
)


def letters_pdf(con: duckdb.DuckDBPyConnection, action_ids: Iterable[int]) -> bytes:
    """The letters of these actions merged into one PDF, in the order given: each
    one's PDF file, or the letter made again from its stored rendering."""
    chosen = [get(con, action_id) for action_id in dict.fromkeys(action_ids)]
    found = [a for a in chosen if a["type"] in letters.LETTER_TYPES]
    if not found:
        raise InvalidValue(
            "None of the chosen actions is a letter: choose letters, letters with "
            "acknowledgement of receipt or formal notices."
        )
    return letters.merge(_output_file(con, action)[1] for action in found)


def bundle(con: duckdb.DuckDBPyConnection, action_ids: Iterable[int]) -> bytes:
    """A ZIP of these actions: one PDF, .eml (or .txt for an SMS or a call task)
    each, and summary.csv with one row per action and currency."""
    chosen = [get(con, action_id) for action_id in dict.fromkeys(action_ids)]
    if not chosen:
        raise InvalidValue("Choose at least one action to put in the ZIP.")
    names = dict(
        con.execute(
            "SELECT customer_number, name FROM customers "
            "WHERE customer_number IN (SELECT unnest(?::VARCHAR[]))",
            [sorted({a["customer_number"] for a in chosen})],
        ).fetchall()
    )
    buffer = io.BytesIO()
    rows: list[list[Any]] = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        taken: set[str] = set()
        for action in chosen:
            name, data = _output_file(con, action)
            name = _unique(name, taken)
            archive.writestr(name, data)
            basis, totals = _summary_totals(action)
            for currency, figures in (totals or {"": {}}).items():
                rows.append(_summary_row(action, names, basis, currency, figures, name))
        archive.writestr(BUNDLE_SUMMARY, _summary_csv(rows))
    return buffer.getvalue()


def _output_file(con, action: dict) -> tuple[str, bytes]:
    """An action's output for a batch: its export file when it is still there,
    else made again from what the action stored (subject, text, items)."""
    path = Path(action["export_file"]) if action["export_file"] else None
    if path is not None:
        try:
            return path.name, path.read_bytes()
        except OSError:
            log.info("action %s: export file gone, made again", action["action_id"])
    stored = stored_rendering(con, action)
    day = (action["executed_at"] or action["created_at"]).date()
    kind = action["type"]
    if kind in letters.LETTER_TYPES:
        html = letter_html(con, action, stored, day)
        return f"{output_name(action)}.pdf", letters.pdf(html)
    if kind == "email":
        stamp = action["executed_at"] or action["created_at"]
        message = email_message(con, action, stored, stamp, action["message_id"])
        return f"{output_name(action)}.eml", message.as_bytes()
    text = f"{stored.subject}\n\n{stored.text}".strip() + "\n"
    return f"{output_name(action)}.txt", text.encode("utf-8")


@dataclass(frozen=True)
class Stored:
    """An action's rendering as it keeps it, shaped as a preview."""

    subject: str
    text: str
    html: str
    assessment: penalties.Assessment


def stored_rendering(con: duckdb.DuckDBPyConnection, action: dict) -> Stored:
    """The subject, text and HTML the action stored, with its items' figures:
    those carrying out claimed once it is done, else the snapshot taken at
    validation. Both are read as stored, never assessed again, so a later import
    cannot change what a done action's letter says."""
    claimed = action["totals_claimed"] is not None
    items = _items(con, action["action_id"], action["run_as_of"] or action["as_of"])
    if claimed:
        items = [i for i in items if i["open_amount_claimed"] is not None]
    assessment = _snapshot_assessment(con, action, items, claimed)
    return Stored(
        action["rendered_subject"] or action["subject"],
        action["rendered_text"] or "",
        action["rendered_html"] or "",
        assessment,
    )


def _snapshot_assessment(
    con, action: dict, kept: list[dict], claimed: bool = False
) -> penalties.Assessment:
    """The assessment an action stored in action_items and its totals: at
    validation, or (`claimed`) as carrying out claimed it."""
    rows = con.execute(
        "SELECT item_id, issue_date, amount, reference FROM items "
        "WHERE item_id IN (SELECT unnest(?::BIGINT[]))",
        [[i["item_id"] for i in kept]],
    ).fetchall()
    originals = {row[0]: row[1:] for row in rows}
    suffix = "claimed" if claimed else "at_action"
    items = tuple(
        _snapshot_item(action, i, originals.get(i["item_id"]), suffix) for i in kept
    )
    stored = action["totals_claimed"] if claimed else action["totals"]
    totals = {
        currency: penalties.Totals(**{key: values[key] for key in TOTAL_KEYS})
        for currency, values in totals_from_json(stored).items()
    }
    return penalties.Assessment(
        customer_number=action["customer_number"],
        as_of=(action["run_as_of"] or action["as_of"]) if claimed else action["as_of"],
        rule="",
        rate_note="",
        items=items,
        totals=totals,
        warnings=(),
    )


def _snapshot_item(
    action: dict, item: dict, original, suffix: str = "at_action"
) -> penalties.ItemPenalty:
    """One action item as stored (`suffix`: at_action or claimed); issue date,
    amount and reference from the item."""
    issue_date, amount, reference = original or (
        None,
        item[f"open_amount_{suffix}"],
        None,
    )
    return penalties.ItemPenalty(
        item_id=item["item_id"],
        customer_number=action["customer_number"],
        doc_number=item["doc_number"],
        doc_type=item["doc_type"],
        currency=item["currency"],
        issue_date=issue_date,
        due_date=item["due_date"],
        days_late=item[f"days_late_{suffix}"],
        amount=amount,
        open_amount=item[f"open_amount_{suffix}"],
        status=item["status_now"] or "open",
        reference=reference,
        interest=item[f"interest_{suffix}"],
        indemnity=item[f"indemnity_{suffix}"],
        indemnity_currency=item["indemnity_currency"],
        penalty=item[f"penalty_{suffix}"],
        periods=(),
        note=None,
    )


def _unique(name: str, taken: set[str]) -> str:
    """A file name not yet used in the ZIP: name, name-2, name-3 ..."""
    stem, dot, suffix = name.rpartition(".")
    candidate, number = name, 2
    while candidate in taken:
        candidate = f"{stem}-{number}{dot}{suffix}"
        number += 1
    taken.add(candidate)
    return candidate


def _summary_totals(action: dict) -> tuple[str, dict]:
    """The totals a summary row shows, and which they are: those claimed when
    the action was carried out, else those at validation."""
    if action["totals_claimed"] is not None:
        return "carried out", totals_from_json(action["totals_claimed"])
    return "validation", totals_from_json(action["totals"])


def _summary_row(action, names, basis, currency, figures: dict, file_name: str):
    return [
        action["action_id"],
        action["customer_number"],
        names.get(action["customer_number"]) or "",
        action["type"],
        action["status"],
        action["planned_for"],
        action["executed_at"],
        basis,
        currency,
        figures.get("amount_selected"),
        figures.get("penalties"),
        figures.get("amount_including_penalties"),
        file_name,
    ]


def _summary_csv(rows: Iterable[Sequence[Any]]) -> bytes:
    """The summary as dunning.exporting writes a statement: UTF-8 with a BOM, dot
    decimals, ISO dates, text cells that look like formulas neutralised."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(SUMMARY_COLUMNS)
    writer.writerows([_summary_cell(value) for value in row] for row in rows)
    return buffer.getvalue().encode("utf-8-sig")


def _summary_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return money.as_text(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return exporting.neutralised(value)
    return value


# ---------------------------------------------------------------------------
# Disputes


def disputed_items(con: duckdb.DuckDBPyConnection, action_id: int) -> tuple[int, ...]:
    """Items of the action (not dropped) that are disputed now: the UI offers to
    mark them dispute resolved once the action is done."""
    rows = con.execute(
        """
        SELECT a.item_id FROM action_items a JOIN items i USING (item_id)
        WHERE a.action_id = ? AND a.dropped_at IS NULL AND i.status = 'disputed'
        ORDER BY a.item_id
        """,
        [action_id],
    ).fetchall()
    return tuple(row[0] for row in rows)


def mark_dispute_resolved(
    con: duckdb.DuckDBPyConnection,
    action_id: int,
    item_ids: Iterable[int] | None = None,
    author: str | None = None,
    comment: str | None = None,
) -> int:
    """Mark the action's disputed items (or the given ones) dispute resolved."""
    get(con, action_id)
    ids = (
        list(item_ids) if item_ids is not None else list(disputed_items(con, action_id))
    )
    if not ids:
        return 0
    return qualification.qualify(
        con,
        ids,
        "dispute_resolved",
        clock.today(),
        comment or f"Resolved with action {action_id}",
        author,
        action_id=action_id,
    )

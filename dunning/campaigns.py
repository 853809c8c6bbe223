"""Campaigns: one search across customers, one template, one action per customer.

A campaign starts as a `Draft`: the items a search matches at an as-of date,
grouped by customer, with each customer's count, amount and penalties per currency
(one `penalties.assess_many` call for every customer). A customer is chased when
the amount selected in at least one of its currencies reaches the minimum amount
(each currency judged on its own, never summed with another); the others are listed
as below the minimum. On an email campaign, a customer without a usable email
address is listed with `sending.recipients`' reason and either left out or sent a
letter instead, never skipped silently.

`create` stores the campaign (its name, the search as `search.to_json`, the template
and the as-of date) and every action through `actions.create`, all in one
transaction: one failing customer stores nothing. `carry_out` then carries out the
campaign's actions one by one through `actions.carry_out`, which claims each action
before producing it, so a second run never produces anything twice.

`Renderer` is the fast path (DESIGN 16): the template compiled once, every
customer's values loaded with a few bulk queries, then each customer rendered
without touching the database, by the same `hashtags.compute_from` and
`rendering.render_compiled` that `rendering.preview` runs for one customer.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import logging
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import duckdb

from dunning import (
    actions,
    clock,
    customers,
    exporting,
    hashtags,
    ledger,
    letters,
    money,
    penalties,
    qualification,
    rendering,
    search,
    sending,
    settings,
    store,
    templates,
)
from dunning.errors import DunningError, InvalidValue, NotFound

log = logging.getLogger(__name__)

CHASED = "chased"
BELOW_MINIMUM = "below_minimum"
NO_EMAIL = "no_email"
EXCLUDED = "excluded"
STATUS_LABELS = {
    CHASED: "Chased",
    BELOW_MINIMUM: "Below minimum",
    NO_EMAIL: "No email: left out",
    EXCLUDED: "Excluded",
}
# What becomes of a customer without email on an email campaign.
WITHOUT_EMAIL = ("exclude", "letter")
NAME_MAX_LENGTH = 80
SUMMARY_COLUMNS = (
    "customer_number",
    "customer_name",
    "action_id",
    "type",
    "status",
    "currency",
    "amount_selected",
    "penalties",
    "amount_including_penalties",
    "file",
)

Progress = Callable[[int, int], None]


class CampaignRefused(DunningError):
    """A campaign that cannot be created or produced as asked."""

    title = "Campaign refused"


class LeftOut(NamedTuple):
    """An item the user took out of a customer's reminder."""

    item_id: int
    doc_number: str
    doc_type: str
    currency: str
    open_amount: Decimal


@dataclass(frozen=True)
class Group:
    """One customer of a campaign: the selected items, totals, what becomes of it."""

    customer_number: str
    customer_name: str
    language: str
    status: str  # CHASED, BELOW_MINIMUM, NO_EMAIL or EXCLUDED
    reason: str | None  # why it is not chased, or how it is chased
    type: str  # the action type it gets
    assessment: penalties.Assessment | None  # None when every item was left out
    left_out: tuple[LeftOut, ...]
    recipients: sending.Recipients | None  # email campaigns only
    no_email: str | None  # sending.recipients' reason, on an email campaign

    @property
    def items(self) -> tuple[penalties.ItemPenalty, ...]:
        return self.assessment.items if self.assessment else ()

    @property
    def item_ids(self) -> tuple[int, ...]:
        return tuple(item.item_id for item in self.items)

    @property
    def totals(self) -> dict[str, penalties.Totals]:
        return self.assessment.totals if self.assessment else {}

    @property
    def counts(self) -> dict[str, int]:
        """How many selected items there are in each currency."""
        return dict(sorted(Counter(item.currency for item in self.items).items()))


@dataclass(frozen=True)
class Draft:
    """A campaign before it is created: every customer the search reaches."""

    filters: search.Filters
    as_of: dt.date
    type: str
    subject: str
    body: str
    template: str | None
    min_amount: Decimal | None
    without_email: str
    groups: tuple[Group, ...]
    problems: tuple[str, ...]  # the template's, blocking for every customer

    def by_status(self, status: str) -> tuple[Group, ...]:
        return tuple(g for g in self.groups if g.status == status)

    @property
    def chased(self) -> tuple[Group, ...]:
        return self.by_status(CHASED)

    @property
    def below_minimum(self) -> tuple[Group, ...]:
        return self.by_status(BELOW_MINIMUM)

    @property
    def excluded(self) -> tuple[Group, ...]:
        return self.by_status(EXCLUDED)

    @property
    def without_email_groups(self) -> tuple[Group, ...]:
        """Customers without a usable email address, whether left out or sent a
        letter instead."""
        return tuple(g for g in self.groups if g.no_email)

    @property
    def totals(self) -> dict[str, penalties.Totals]:
        """Per-currency totals of the chased customers."""
        return add_totals(g.totals for g in self.chased)

    def group(self, customer_number: str) -> Group:
        for group in self.groups:
            if group.customer_number == customer_number:
                return group
        raise NotFound(
            f"Customer {customer_number} is not in this campaign's selection."
        )


@dataclass(frozen=True)
class Campaign:
    """A stored campaign and its actions."""

    campaign_id: int
    name: str
    filters: search.Filters
    template: str | None
    as_of: dt.date
    created_at: dt.datetime
    created_by: str
    action_ids: tuple[int, ...]

    @property
    def description(self) -> str:
        return search.describe(self.filters)


@dataclass
class CarryReport:
    """What carrying out a campaign did, action by action."""

    outcomes: list[actions.Outcome] = dataclasses.field(default_factory=list)

    def _ids(self, status: str, carried: bool | None = None) -> list[int]:
        return [
            o.action_id
            for o in self.outcomes
            if o.status == status and (carried is None or o.carried_out == carried)
        ]

    @property
    def carried_out(self) -> list[int]:
        return self._ids("done", True)

    @property
    def failed(self) -> list[int]:
        return self._ids("failed")

    @property
    def cancelled(self) -> list[int]:
        return self._ids("cancelled")


# ---------------------------------------------------------------------------
# The draft


def draft(
    con: duckdb.DuckDBPyConnection,
    filters: search.Filters,
    as_of: dt.date,
    template: str | tuple[str, str],
    type: str = "letter",
    min_amount: Decimal | str | None = None,
    excluded_customers: Iterable[str] = (),
    excluded_items: Iterable[int] = (),
    without_email: str = "exclude",
) -> Draft:
    """The items a search matches, grouped by customer, with what each one gets.

    `template` is a template name (library or saved) or a (subject, body) pair.
    A customer is chased when its amount selected reaches `min_amount` in at least
    one currency, each currency compared on its own (a customer owing 300 EUR and
    300 USD does not reach a minimum of 500); with no minimum, when it owes a
    positive amount in some currency. On an email campaign a customer without a
    usable email address is left out (`without_email="exclude"`) or sent a letter
    (`"letter"`); either way it is listed with the reason.
    """
    kind = _checked_type(type)
    if without_email not in WITHOUT_EMAIL:
        raise InvalidValue(
            f"Customers without email: {without_email!r}; use exclude or letter."
        )
    minimum = search.amount(min_amount, "minimum amount")
    subject, body, name = _content(con, template)
    problems = tuple(rendering.problems(subject, "subject")) + tuple(
        rendering.problems(body, "body")
    )

    # Every match at the as-of date, less the items the user took out.
    left_out_ids = {int(i) for i in excluded_items}
    matched = search.item_ids(con, filters, as_of)
    kept = [i for i in matched if i not in left_out_ids]
    assessed = penalties.assess_many(con, kept, as_of)
    left_out = _left_out(con, [i for i in matched if i in left_out_ids])
    records = customer_records(con, {*assessed, *left_out})

    # What becomes of each customer, in customer number order.
    excluded = {str(number) for number in excluded_customers}
    groups = tuple(
        _group(
            con,
            records[number],
            assessed.get(number),
            tuple(left_out.get(number, ())),
            kind,
            minimum,
            excluded,
            without_email,
        )
        for number in sorted(records)
    )
    return Draft(
        filters=search.normalised(filters),
        as_of=as_of,
        type=kind,
        subject=subject,
        body=body,
        template=name,
        min_amount=minimum,
        without_email=without_email,
        groups=groups,
        problems=problems,
    )


def _checked_type(kind: str) -> str:
    if kind not in actions.TYPES:
        raise InvalidValue(
            f"Action type {kind!r}: use one of {', '.join(actions.TYPES)}."
        )
    return kind


def _content(con, template: str | tuple[str, str]) -> tuple[str, str, str | None]:
    """(subject, body, template name) of a template name or a (subject, body)."""
    if isinstance(template, str):
        chosen = templates.get(con, template)
        return chosen.subject, chosen.body, chosen.name
    subject, body = template
    return subject or "", body or "", None


def _left_out(con, ids: Sequence[int]) -> dict[str, list[LeftOut]]:
    """The items taken out of the campaign, by customer (one query)."""
    found: dict[str, list[LeftOut]] = defaultdict(list)
    if not ids:
        return found
    rows = con.execute(
        "SELECT customer_number, item_id, doc_number, doc_type, currency, "
        "open_amount FROM items WHERE item_id IN (SELECT unnest($ids::BIGINT[])) "
        "ORDER BY customer_number, doc_number",
        {"ids": list(ids)},
    ).fetchall()
    for number, *item in rows:
        found[number].append(LeftOut(*item))
    return found


def customer_records(con, numbers: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The customers' records, by number (one query)."""
    cursor = con.execute(
        "SELECT * FROM customers WHERE customer_number IN "
        "(SELECT unnest($numbers::VARCHAR[]))",
        {"numbers": sorted(numbers)},
    )
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return {row["customer_number"]: row for row in rows}


def _group(
    con,
    record: dict[str, Any],
    assessment: penalties.Assessment | None,
    left_out: tuple[LeftOut, ...],
    kind: str,
    minimum: Decimal | None,
    excluded: set[str],
    without_email: str,
) -> Group:
    """One customer's group: excluded, below the minimum, without email, chased."""
    number = record["customer_number"]
    group = Group(
        customer_number=number,
        customer_name=record.get("name") or "",
        language=(record.get("language") or "fr").lower(),
        status=CHASED,
        reason=None,
        type=kind,
        assessment=assessment,
        left_out=left_out,
        recipients=None,
        no_email=None,
    )
    if number in excluded:
        return dataclasses.replace(group, status=EXCLUDED, reason="excluded by you")
    if assessment is None or not assessment.items:
        reason = "every selected item was left out"
        return dataclasses.replace(group, status=EXCLUDED, reason=reason)
    shortfall = below_minimum_reason(assessment.totals, minimum)
    if shortfall:
        return dataclasses.replace(group, status=BELOW_MINIMUM, reason=shortfall)
    if kind != "email":
        return group

    # An email campaign: the default recipients, or the reason there are none.
    chosen = sending.recipients(con, number)
    if chosen.sendable:
        return dataclasses.replace(group, recipients=chosen)
    reason = chosen.disabled_reason or f"Customer {number} has no email address."
    if without_email == "letter":
        return dataclasses.replace(
            group, type="letter", no_email=reason, reason="no email: a letter instead"
        )
    return dataclasses.replace(group, status=NO_EMAIL, no_email=reason, reason=reason)


def below_minimum_reason(
    totals: Mapping[str, penalties.Totals], minimum: Decimal | None
) -> str | None:
    """Why a customer is not chased, or None when one currency reaches the minimum.

    Each currency is compared with the minimum on its own: amounts in different
    currencies are never added together.
    """
    owed = {c: t.amount_selected for c, t in totals.items() if t.amount_selected > 0}
    if not owed:
        return "nothing owed on the selected items"
    if minimum is None or any(amount >= minimum for amount in owed.values()):
        return None
    shown = ", ".join(f"{money.as_text(a)} {c}" for c, a in sorted(owed.items()))
    return f"{shown} below the minimum of {money.as_text(minimum)}"


def add_totals(many: Iterable[Mapping[str, penalties.Totals]]) -> dict:
    """Per-currency sums of several customers' totals (never across currencies)."""
    sums: dict[str, list[Decimal]] = defaultdict(lambda: [money.ZERO] * 5)
    fields = [f.name for f in dataclasses.fields(penalties.Totals)]
    for totals in many:
        for currency, figures in totals.items():
            for index, name in enumerate(fields):
                sums[currency][index] += getattr(figures, name)
    return {
        currency: penalties.Totals(*(money.to_cents(v) for v in sums[currency]))
        for currency in sorted(sums)
    }


def preview(
    con: duckdb.DuckDBPyConnection,
    draft: Draft,
    customer_number: str,
    action_date: dt.date | None = None,
) -> rendering.Preview:
    """One customer's rendering, as `create` validates it for that planned date."""
    group = draft.group(customer_number)
    if not group.items:
        raise InvalidValue(
            f"Customer {customer_number} has no item left in this campaign: "
            "nothing to preview."
        )
    return rendering.preview(
        con,
        customer_number,
        group.item_ids,
        draft.as_of,
        draft.subject,
        draft.body,
        action_date=action_date,
        contact=_addressee(customers.contacts(con, customer_number)),
    )


# ---------------------------------------------------------------------------
# Creating and carrying out


def create(
    con: duckdb.DuckDBPyConnection,
    draft: Draft,
    name: str,
    planned_for: dt.date | str | None = None,
    mode: str = "confirm",
    author: str | None = None,
    progress: Progress | None = None,
) -> Campaign:
    """Store the campaign and one action per chased customer, in one transaction.

    Every action goes through `actions.create` (rendered, checked, stored with its
    items as they are); the first that fails rolls everything back, the campaign
    row included, and the error names the customer.
    """
    name = _checked_name(name)
    planned = clock.parse_iso(planned_for, "planned date") if planned_for else None
    if draft.problems:
        raise CampaignRefused(
            "The template cannot be used: " + " ".join(draft.problems)
        )
    chased = draft.chased
    if not chased:
        raise CampaignRefused(
            "No customer is chased by this campaign: widen the search, lower the "
            "minimum amount or bring back excluded customers."
        )
    who = qualification.author_or_default(author)
    stamp = actions.current_time()
    with store.transaction(con):
        campaign_id = con.execute("SELECT nextval('campaign_ids')").fetchone()[0]
        con.execute(
            "INSERT INTO campaigns (campaign_id, name, filters, template, as_of, "
            "created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                campaign_id,
                name,
                search.to_json(draft.filters),
                draft.template,
                draft.as_of,
                stamp,
                who,
            ],
        )
        for done, group in enumerate(chased, start=1):
            _create_action(con, draft, group, campaign_id, planned, mode, who)
            if progress:
                progress(done, len(chased))
    log.info("campaign %s created with %s actions", campaign_id, len(chased))
    return get(con, campaign_id)


def _create_action(con, draft, group, campaign_id, planned, mode, who) -> int:
    """One customer's action inside the campaign's transaction; a failure names
    the customer and undoes the whole campaign."""
    try:
        return actions.create(
            con,
            group.customer_number,
            group.item_ids,
            type=group.type,
            subject=draft.subject,
            body=draft.body,
            planned_for=planned,
            mode=mode,
            as_of=draft.as_of,
            template=draft.template,
            recipients=group.recipients,
            campaign_id=campaign_id,
            author=who,
        )
    except DunningError as error:
        raise CampaignRefused(
            f"Customer {group.customer_number} ({group.customer_name}): {error} "
            "Nothing of the campaign was stored."
        ) from error


def _checked_name(name: str) -> str:
    name = " ".join(str(name or "").split())
    if not name:
        raise InvalidValue("Give the campaign a name, e.g. 'Relance février 2026'.")
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidValue(
            f"The campaign name has {len(name)} characters: use at most "
            f"{NAME_MAX_LENGTH}."
        )
    return name


def carry_out(
    con: duckdb.DuckDBPyConnection,
    campaign_id: int,
    out_dir: Path | str,
    progress: Progress | None = None,
    author: str | None = None,
    now: dt.datetime | None = None,
) -> CarryReport:
    """Carry out the campaign's planned actions, reporting (done, total).

    Each goes through `actions.carry_out`, whose claim makes it happen at most
    once: a second call (or a second session) finds them done and does nothing.
    """
    get(con, campaign_id)
    ids = _planned_ids(con, campaign_id)
    report = CarryReport()
    if progress:
        progress(0, len(ids))
    for done, action_id in enumerate(ids, start=1):
        outcome = actions.carry_out(con, action_id, out_dir, now=now, author=author)
        if outcome.carried_out or outcome.status in ("failed", "cancelled"):
            report.outcomes.append(outcome)
        if progress:
            progress(done, len(ids))
    log.info(
        "campaign %s: %s carried out, %s failed",
        campaign_id,
        len(report.carried_out),
        len(report.failed),
    )
    return report


def _planned_ids(con, campaign_id: int) -> list[int]:
    rows = con.execute(
        "SELECT action_id FROM actions WHERE campaign_id = ? AND status = 'planned' "
        "ORDER BY customer_number, action_id",
        [campaign_id],
    ).fetchall()
    return [row[0] for row in rows]


# ---------------------------------------------------------------------------
# Reading


def get(con: duckdb.DuckDBPyConnection, campaign_id: int) -> Campaign:
    """One stored campaign with the ids of its actions."""
    row = con.execute(
        "SELECT campaign_id, name, filters, template, as_of, created_at, created_by "
        "FROM campaigns WHERE campaign_id = ?",
        [campaign_id],
    ).fetchone()
    if row is None:
        raise NotFound(f"No campaign has the number {campaign_id}.")
    ids = con.execute(
        "SELECT action_id FROM actions WHERE campaign_id = ? "
        "ORDER BY customer_number, action_id",
        [campaign_id],
    ).fetchall()
    return Campaign(
        campaign_id=row[0],
        name=row[1],
        filters=search.from_json(row[2]),
        template=row[3],
        as_of=row[4],
        created_at=row[5],
        created_by=row[6],
        action_ids=tuple(i for (i,) in ids),
    )


def listing(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every campaign, newest first, with its actions counted by status and its
    totals per currency (cancelled actions left out of the totals)."""
    rows = con.execute(
        "SELECT campaign_id, name, filters, template, as_of, created_at, created_by "
        "FROM campaigns ORDER BY created_at DESC, campaign_id DESC"
    ).fetchall()
    found = con.execute(
        "SELECT campaign_id, status, totals FROM actions WHERE campaign_id IS NOT NULL"
    ).fetchall()
    by_campaign: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for campaign_id, status, totals in found:
        by_campaign[campaign_id].append((status, totals))
    listed = []
    for campaign_id, name, filters, template, as_of, created_at, who in rows:
        members = by_campaign.get(campaign_id, [])
        listed.append(
            {
                "campaign_id": campaign_id,
                "name": name,
                "description": search.describe(search.from_json(filters)),
                "template": template,
                "as_of": as_of,
                "created_at": created_at,
                "created_by": who,
                "actions": len(members),
                "statuses": dict(Counter(status for status, _ in members)),
                "totals": _stored_totals(t for s, t in members if s != "cancelled"),
            }
        )
    return listed


def _stored_totals(texts: Iterable[str]) -> dict[str, dict[str, Decimal]]:
    """Per-currency sums of stored action totals (JSON text)."""
    sums: dict[str, dict[str, Decimal]] = {}
    for text in texts:
        for currency, values in actions.totals_from_json(text).items():
            into = sums.setdefault(currency, dict.fromkeys(actions.TOTAL_KEYS, 0))
            for key, value in values.items():
                into[key] = money.to_cents(into.get(key, 0) + value)
    return dict(sorted(sums.items()))


def show(con: duckdb.DuckDBPyConnection, campaign_id: int) -> dict[str, Any]:
    """A campaign with its actions (status, totals, output file) and its totals
    per currency (cancelled actions left out) and counts by status."""
    campaign = get(con, campaign_id)
    cursor = con.execute(
        "SELECT a.action_id, a.customer_number, c.name AS customer_name, a.type, "
        "a.status, a.mode, a.planned_for, a.executed_at, a.totals, a.export_file, "
        "a.error, a.cancel_reason FROM actions a "
        "LEFT JOIN customers c USING (customer_number) WHERE a.campaign_id = ? "
        "ORDER BY a.customer_number, a.action_id",
        [campaign_id],
    )
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    texts = [row["totals"] for row in rows if row["status"] != "cancelled"]
    for row in rows:
        row["totals"] = actions.totals_from_json(row["totals"])
    return {
        "campaign": campaign,
        "actions": rows,
        "statuses": dict(Counter(row["status"] for row in rows)),
        "totals": _stored_totals(texts),
    }


# ---------------------------------------------------------------------------
# Batch output (DESIGN 11)


def letters_pdf(con: duckdb.DuckDBPyConnection, campaign_id: int) -> bytes:
    """The campaign's carried-out letters merged into one PDF, by customer."""
    shown = show(con, campaign_id)
    files = [
        Path(row["export_file"])
        for row in shown["actions"]
        if row["type"] in letters.LETTER_TYPES
        and row["status"] == "done"
        and row["export_file"]
    ]
    found = [path.read_bytes() for path in files if path.is_file()]
    if not found:
        raise CampaignRefused(
            f"Campaign {campaign_id} has no letter carried out yet: carry out the "
            "campaign first (its emails and tasks have no letter)."
        )
    return letters.merge(found)


def zip_bundle(con: duckdb.DuckDBPyConnection, campaign_id: int) -> bytes:
    """One ZIP: each action's PDF or .eml, and summary.csv (one row per action and
    currency: customer, action, type, status, amounts, file name)."""
    shown = show(con, campaign_id)
    buffer = io.BytesIO()
    summary: list[list[Any]] = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for row in shown["actions"]:
            entry = _bundle_file(bundle, row)
            for currency, figures in row["totals"].items() or [("", {})]:
                summary.append(_summary_row(row, currency, figures, entry))
        bundle.writestr("summary.csv", _summary_csv(summary))
    return buffer.getvalue()


def _bundle_file(bundle: zipfile.ZipFile, row: dict[str, Any]) -> str:
    """Put an action's output file in the ZIP; its name there, or ''."""
    path = Path(row["export_file"]) if row["export_file"] else None
    if path is None or not path.is_file():
        return ""
    bundle.write(path, path.name)
    return path.name


def _summary_row(row, currency: str, figures: Mapping[str, Decimal], entry: str):
    return [
        row["customer_number"],
        row["customer_name"] or "",
        row["action_id"],
        row["type"],
        row["status"],
        currency,
        figures.get("amount_selected"),
        figures.get("penalties"),
        figures.get("amount_including_penalties"),
        entry,
    ]


def _summary_csv(rows: Iterable[list[Any]]) -> bytes:
    """The summary as a spreadsheet opens it: text cells that look like formulas
    neutralised, dot decimals, UTF-8 with a BOM (as dunning.exporting writes)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(SUMMARY_COLUMNS)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return out.getvalue().encode("utf-8-sig")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return money.as_text(value)
    if isinstance(value, str):
        return exporting.neutralised(value)
    return value


# ---------------------------------------------------------------------------
# The fast path: every customer rendered without a query per customer


class Renderer:
    """The chased customers of a draft, rendered from values loaded in bulk.

    Loading runs a fixed number of queries whatever the number of customers: the
    customers' records, their contacts, the company settings, the letterhead and,
    when the template reads account-wide values, every open item of their
    accounts (`penalties.assess_many`). Rendering a customer afterwards runs none:
    `hashtags.compute_from` and `rendering.render_compiled`, the very steps of
    `rendering.preview` without its queries, on the template compiled once.
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        draft: Draft,
        action_date: dt.date | None = None,
    ):
        self.draft = draft
        self.action_date = action_date or draft.as_of
        self.compiled = rendering.compile(draft.subject, draft.body)
        self.groups = {g.customer_number: g for g in draft.chased}
        self.records = customer_records(con, self.groups)
        self.contacts = _contacts(con, self.groups)
        self.accounts = (
            _accounts(con, self.groups, draft.as_of)
            if reads_account(self.compiled.reads)
            else {}
        )
        self.company = settings.company(con)
        self.letterhead = letters.letterhead(con)

    def preview(self, customer_number: str) -> rendering.Preview:
        """The customer's rendering, as `preview` gives it for the draft."""
        computed = self.computed(customer_number)
        return rendering.render_compiled(self.compiled, computed)

    def computed(self, customer_number: str) -> hashtags.Computed:
        """The values one customer's reminder reads, from the bulk loads.

        Only what the template reads is computed (the account-wide statements of
        a template that prints none, say): formatting them is most of the cost.
        """
        contacts = self.contacts.get(customer_number, [])
        contact = hashtags.recipient(customer_number, _addressee(contacts), contacts)
        return hashtags.compute_from(
            self.records[customer_number],
            self.groups[customer_number].assessment,
            self.accounts.get(customer_number),
            contact,
            self.company,
            self.draft.as_of,
            self.action_date,
            names=self.compiled.reads,
        )

    def letter(self, customer_number: str, rendered: rendering.Preview) -> str:
        """The letter document (HTML for the PDF) of a rendered customer."""
        contact = _addressee(self.contacts.get(customer_number, []))
        return letters.document(
            head=self.letterhead,
            customer=self.records[customer_number],
            kind=self.groups[customer_number].type,
            letter_date=self.action_date,
            subject=rendered.subject,
            body_html=rendered.html,
            contact_name=(contact or {}).get("name"),
            assessment=rendered.assessment,
        )


def reads_account(names: Collection[str]) -> bool:
    """Whether a template reading these names needs every open item of the
    account, not only the selection: account-wide hashtags, their rows, or the
    penalty rate (which falls back on the account's periods)."""
    rows = {v for v, name in hashtags.ROWS.items() if name != "items_list_selected"}
    return (
        "penalty_rate" in names
        or any(name in rows for name in names)
        or any(
            hashtags.CATALOGUE[name].group == hashtags.ACCOUNT
            for name in names
            if name in hashtags.CATALOGUE
        )
    )


def _contacts(con, numbers: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """Every contact of the customers, dunning contact first (one query; the
    order of customers.contacts)."""
    cursor = con.execute(
        """
        SELECT customer_number, contact_id, name, role, email, phone FROM contacts
        WHERE customer_number IN (SELECT unnest($numbers::VARCHAR[]))
        ORDER BY customer_number, CASE role WHEN 'dunning' THEN 0 WHEN 'billing'
                 THEN 1 WHEN 'management' THEN 2 ELSE 3 END, contact_id
        """,
        {"numbers": sorted(numbers)},
    )
    names = [d[0] for d in cursor.description]
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in cursor.fetchall():
        contact = dict(zip(names, row, strict=True))
        found[contact.pop("customer_number")].append(contact)
    return found


def _addressee(contacts: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The contact a reminder is addressed to: the first with an email (the one
    sending.recipients picks), else the first contact."""
    with_email = [c for c in contacts if c["email"]]
    return (with_email or contacts or [None])[0]


def _accounts(con, numbers: Iterable[str], as_of: dt.date) -> dict[str, Any]:
    """Every open item of the customers, assessed at once (account-wide hashtags)."""
    numbers = sorted(numbers)
    if not numbers:
        return {}
    rows = con.execute(
        f"SELECT item_id FROM ({ledger.items_at()}) "
        "WHERE customer_number IN (SELECT unnest($numbers::VARCHAR[]))",
        {"as_of": as_of, "numbers": numbers},
    ).fetchall()
    return penalties.assess_many(con, [row[0] for row in rows], as_of)


def render_all(
    con: duckdb.DuckDBPyConnection, draft: Draft, action_date: dt.date | None = None
) -> dict[str, rendering.Preview]:
    """Every chased customer's rendering, through the fast path."""
    renderer = Renderer(con, draft, action_date)
    return {number: renderer.preview(number) for number in renderer.groups}

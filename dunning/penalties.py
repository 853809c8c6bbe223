"""Late-payment penalties: interest and fixed indemnities per item at an as-of date.

This module owns the money rules of DESIGN 7: which items bear a penalty, the days
late, the reference rate of each rule (`fr_legal`, `de_legal`, `uk_legal`, `fixed`,
`none`), the periods between dated payments and at half-year boundaries, the
rounding, and the per-currency totals. Rate tables are read through `dunning.rates`.
Hashtags, previews and actions call `assess` / `assess_many` and never recompute.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import duckdb

from dunning import customers, ledger, money, rates, store
from dunning.errors import InvalidValue, NotFound

ONE_DAY = dt.timedelta(days=1)
DAY_COUNT = 365  # every year, leap years included (DESIGN 7)
EXCLUDED_STATUSES = ("disputed", "litigation")
INDEMNITY_EUR = Decimal("40.00")
# Late Payment of Commercial Debts (Interest) Act 1998, s.5A: fixed sum by debt size.
UK_FIXED_SUMS = (
    (Decimal("1000.00"), Decimal("40.00")),
    (Decimal("10000.00"), Decimal("70.00")),
    (None, Decimal("100.00")),
)
RULE_NOTES = {
    "fr_legal": "ECB rate + 10 points",
    "de_legal": "Basiszinssatz + 9 points",
    "uk_legal": "Bank of England base rate + 8 points",
    "fixed": "contractual rate",
    "none": "no late-payment penalties",
}
# The rate table each legal rule reads, and the points it adds.
RULE_TABLES = {"fr_legal": "ecb", "de_legal": "de_base", "uk_legal": "boe"}
RULE_POINTS = {"fr_legal": Decimal(10), "de_legal": Decimal(9), "uk_legal": Decimal(8)}
# BGB 288(1): towards a consumer the German rate is base rate + 5 points.
DE_CONSUMER_POINTS = Decimal(5)
TABLE_NAMES = {
    "ecb": "ECB main refinancing rate",
    "de_base": "German base rate (Basiszinssatz)",
    "boe": "Bank of England Bank Rate",
}


@dataclass(frozen=True)
class Period:
    """A stretch of days late at one base and one rate (days counted inclusive)."""

    start: dt.date
    end: dt.date
    days: int
    base: Decimal
    rate: Decimal  # annual percent, e.g. Decimal("13.15")
    # This period's share of the item's interest, in cents. The shares add up to
    # the item's interest exactly: see _shares.
    interest: Decimal


@dataclass(frozen=True)
class ItemPenalty:
    """One selected item with what it bears at the as-of date."""

    item_id: int
    customer_number: str
    doc_number: str
    doc_type: str
    currency: str
    issue_date: dt.date | None
    due_date: dt.date | None
    days_late: int | None
    amount: Decimal
    open_amount: Decimal
    status: str
    reference: str | None
    interest: Decimal
    indemnity: Decimal
    indemnity_currency: str | None
    penalty: Decimal  # interest + indemnity when both in the item's currency
    periods: tuple[Period, ...]
    note: str | None  # the basis of the interest, or why there is no penalty
    # The days whose table rate the interest reads (one that has none included);
    # the rate warnings are about these days only.
    rate_days: tuple[dt.date, ...] = ()


@dataclass(frozen=True)
class Totals:
    """Sums of one currency over the selection (of rounded item values)."""

    amount_selected: Decimal
    interest: Decimal
    indemnity: Decimal
    penalties: Decimal
    amount_including_penalties: Decimal


@dataclass(frozen=True)
class Assessment:
    """The penalties of one customer's selected items at an as-of date."""

    customer_number: str
    as_of: dt.date
    rule: str
    rate_note: str
    items: tuple[ItemPenalty, ...]
    totals: dict[str, Totals]
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class _Terms:
    """A customer's penalty settings as the rules read them."""

    customer_number: str
    rule: str
    rate: Decimal | None
    indemnity_enabled: bool
    is_consumer: bool
    in_insolvency: bool
    fr_reference: str  # "split" or "due_half_year"


# ---------------------------------------------------------------------------
# Entry points


def assess(
    con: duckdb.DuckDBPyConnection,
    customer_number: str,
    as_of: dt.date,
    item_ids: Iterable[int] | None = None,
    include_disputed: bool = False,
) -> Assessment:
    """Penalties on a customer's items at `as_of`; None = every open item."""
    customers.get(con, customer_number)
    if item_ids is None:
        rows = _load_items(con, as_of, customer_number=customer_number)
    else:
        ids = sorted(set(item_ids))
        rows = _load_items(con, as_of, ids=ids)
        _check_ids(ids, rows, customer_number)
    assessments = _assess_rows(con, rows, as_of, include_disputed)
    if customer_number in assessments:
        return assessments[customer_number]
    terms = _terms_of(con, customer_number)
    return _empty(terms, as_of)


def assess_many(
    con: duckdb.DuckDBPyConnection,
    item_ids: Iterable[int],
    as_of: dt.date,
    include_disputed: bool = False,
) -> dict[str, Assessment]:
    """Penalties on items of many customers (a campaign), one Assessment each."""
    ids = sorted(set(item_ids))
    if not ids:
        return {}
    rows = _load_items(con, as_of, ids=ids)
    _check_ids(ids, rows, None)
    return _assess_rows(con, rows, as_of, include_disputed)


def item_ids(
    con: duckdb.DuckDBPyConnection, customer_number: str, doc_numbers: Iterable[str]
) -> list[int]:
    """The items of a customer named by document number (all types sharing it)."""
    wanted = list(dict.fromkeys(d.strip() for d in doc_numbers if d.strip()))
    found = con.execute(
        "SELECT item_id, doc_number FROM items WHERE customer_number = $customer "
        "AND doc_number IN (SELECT unnest($docs::VARCHAR[])) ORDER BY item_id",
        {"customer": customer_number, "docs": wanted},
    ).fetchall()
    missing = sorted(set(wanted) - {doc for _, doc in found})
    if missing:
        raise NotFound(
            f"Customer {customer_number} has no document numbered "
            f"{', '.join(missing)}; check the numbers (they are matched exactly)."
        )
    return [item_id for item_id, _ in found]


def rate_warnings(rule: str, needed: Iterable[dt.date]) -> list[str]:
    """Warnings when a rate the computed interest reads is not confirmed.

    `needed` are the reference days of the interest periods actually computed
    (ItemPenalty.rate_days): for fr_legal and de_legal the 1 January / 1 July of
    each late half-year (or of the half-year the invoice fell due, with the setting
    due_half_year), for uk_legal the 31 December / 30 June before each debt fell
    overdue. The as-of date itself plays no part: a UK debt overdue since March
    2025 reads the rate of 31 December 2024 whatever the as-of date. A day after
    the table's "checked through" date may have a rate the table does not hold
    yet; a day before its first row has none at all.
    """
    if rule not in RULE_TABLES:
        return []
    table = rates.table(RULE_TABLES[rule])
    what = f"The {TABLE_NAMES[table.name]} table ({table.label})"
    days = sorted(set(needed))
    found = []
    missing = [day for day in days if table.rate_on(day) is None]
    if missing:
        found.append(
            f"{what} has no rate in force on {_days_text(missing)}: add the rates "
            f"before {table.changes[0][0]} to it."
        )
    unconfirmed = [day for day in days if day > table.checked_through]
    if unconfirmed:
        found.append(
            f"{what} is checked through {table.checked_through.isoformat()}, but "
            f"the interest needs the rate in force on {_days_text(unconfirmed)}: "
            f"the last known rate is used; update {table.label}."
        )
    return found


def _days_text(days: Sequence[dt.date]) -> str:
    return ", ".join(day.isoformat() for day in days)


# ---------------------------------------------------------------------------
# Loading


def _items_sql(where: str) -> str:
    """Items (whether open at the as-of date or not) with their customer's terms."""
    return f"""
        SELECT i.item_id, i.customer_number, i.doc_number, i.doc_type, i.currency,
               i.issue_date, i.due_date, o.days_late, i.amount,
               coalesce(o.open_amount, 0.00) AS open_amount, i.status, i.reference,
               o.item_id IS NOT NULL AS is_open,
               c.penalty_rule, c.penalty_rate, c.indemnity_enabled, c.is_consumer,
               c.in_insolvency
        FROM items i
        LEFT JOIN ({ledger.items_at()}) o ON o.item_id = i.item_id
        LEFT JOIN customers c ON c.customer_number = i.customer_number
        WHERE {where}
        ORDER BY i.customer_number, i.due_date NULLS LAST, i.doc_number, i.item_id
    """


def _load_items(
    con, as_of: dt.date, ids: Sequence[int] = (), customer_number: str | None = None
) -> list[dict[str, Any]]:
    """One query for the items: by ids, or every open item of one customer."""
    if customer_number is not None:
        where, params = (
            "o.item_id IS NOT NULL AND i.customer_number = $customer",
            {"customer": customer_number},
        )
    else:
        where = "i.item_id IN (SELECT unnest($ids::BIGINT[]))"
        params = {"ids": list(ids)}
    cursor = con.execute(_items_sql(where), {"as_of": as_of, **params})
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _load_payments(
    con, ids: Sequence[int]
) -> dict[int, list[tuple[dt.date | None, Decimal]]]:
    """One query for the dated amounts paid against the items (allocations)."""
    found: dict[int, list[tuple[dt.date | None, Decimal]]] = defaultdict(list)
    if not ids:
        return found
    rows = con.execute(
        "SELECT item_id, paid_on, amount FROM allocations "
        "WHERE item_id IN (SELECT unnest($ids::BIGINT[])) "
        "ORDER BY item_id, paid_on NULLS FIRST",
        {"ids": list(ids)},
    ).fetchall()
    for item_id, paid_on, amount in rows:
        found[item_id].append((paid_on, amount))
    return found


def _load_credits(con, numbers: Sequence[str], as_of: dt.date) -> dict[str, list]:
    """Open credit notes and payments (negative open amounts) per customer."""
    found: dict[str, list] = defaultdict(list)
    rows = con.execute(
        f"SELECT customer_number, item_id, doc_number, open_amount, currency "
        f"FROM ({ledger.items_at()}) WHERE open_amount < 0 "
        "AND customer_number IN (SELECT unnest($numbers::VARCHAR[])) "
        "ORDER BY customer_number, doc_number",
        {"as_of": as_of, "numbers": list(numbers)},
    ).fetchall()
    for number, item_id, doc_number, open_amount, currency in rows:
        found[number].append((item_id, doc_number, open_amount, currency))
    return found


def _check_ids(ids: Sequence[int], rows: list[dict], customer: str | None) -> None:
    """Refuse ids that do not exist, or that belong to another customer."""
    missing = sorted(set(ids) - {row["item_id"] for row in rows})
    if missing:
        raise NotFound(
            f"No item has the id {', '.join(map(str, missing))}; the workspace may "
            "have been reimported since the selection was made."
        )
    others = [row for row in rows if customer and row["customer_number"] != customer]
    if others:
        named = ", ".join(f"{r['doc_number']} ({r['customer_number']})" for r in others)
        raise InvalidValue(
            f"Items {named} do not belong to customer {customer}: a penalty "
            "assessment covers one customer's items only."
        )


def _terms_of(con, customer_number: str) -> _Terms:
    record = customers.get(con, customer_number)
    return _terms(record, _fr_reference(con))


def _terms(row: dict[str, Any], fr_reference: str) -> _Terms:
    return _Terms(
        customer_number=row["customer_number"],
        rule=row.get("penalty_rule") or "",
        rate=row.get("penalty_rate"),
        indemnity_enabled=bool(row.get("indemnity_enabled")),
        is_consumer=bool(row.get("is_consumer")),
        in_insolvency=bool(row.get("in_insolvency")),
        fr_reference=fr_reference,
    )


def _fr_reference(con) -> str:
    value = store.get_setting(con, "penalties.fr_rate_reference")
    return "due_half_year" if value == "due_half_year" else "split"


# ---------------------------------------------------------------------------
# Assessing


def _assess_rows(
    con, rows: list[dict], as_of: dt.date, include_disputed: bool
) -> dict[str, Assessment]:
    """Group loaded rows by customer and assess each group."""
    fr_reference = _fr_reference(con)
    open_ids = [row["item_id"] for row in rows if row["is_open"]]
    payments = _load_payments(con, open_ids)
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        groups[row["customer_number"]].append(row)
    credits = _load_credits(con, list(groups), as_of)
    return {
        number: _assess_customer(
            _terms(group[0], fr_reference),
            group,
            payments,
            credits.get(number, []),
            as_of,
            include_disputed,
        )
        for number, group in groups.items()
    }


def _assess_customer(
    terms: _Terms,
    rows: list[dict],
    payments: dict[int, list],
    credits: list,
    as_of: dt.date,
    disputed: bool,
) -> Assessment:
    """One customer's assessment: items, per-currency totals, warnings."""
    warnings = _terms_warnings(terms)

    # Items no longer (or not yet) open at the as-of date are left out, with a word.
    kept = [row for row in rows if row["is_open"]]
    for row in rows:
        if not row["is_open"]:
            warnings.append(
                f"{row['doc_number']} is not open at {as_of.isoformat()} (paid, "
                "closed or issued later): it is left out."
            )

    items = tuple(
        item_penalty(row, terms, payments.get(row["item_id"], []), as_of, disputed)
        for row in kept
    )
    warnings += rate_warnings(terms.rule, (d for i in items for d in i.rate_days))
    warnings += _item_warnings(items, disputed)
    warnings += _credit_warnings(items, credits)
    return Assessment(
        customer_number=terms.customer_number,
        as_of=as_of,
        rule=terms.rule,
        rate_note=_rate_note(terms),
        items=items,
        totals=totals(items),
        warnings=tuple(dict.fromkeys(warnings)),
    )


def _empty(terms: _Terms, as_of: dt.date) -> Assessment:
    return Assessment(
        customer_number=terms.customer_number,
        as_of=as_of,
        rule=terms.rule,
        rate_note=_rate_note(terms),
        items=(),
        totals={},
        warnings=tuple(_terms_warnings(terms)),
    )


def _rate_note(terms: _Terms) -> str:
    """The rule in words, for the breakdown and the #penalty_rate hashtag."""
    if terms.rule == "fixed" and terms.rate is not None:
        return f"contractual rate {_tidy(terms.rate)} %"
    if terms.rule == "fr_legal" and terms.fr_reference == "due_half_year":
        return "ECB rate of the half-year the invoice fell due + 10 points"
    if terms.rule == "de_legal" and terms.is_consumer:
        return "Basiszinssatz + 5 points (consumer)"
    return RULE_NOTES.get(terms.rule, f"unknown rule {terms.rule!r}")


def _terms_warnings(terms: _Terms) -> list[str]:
    if terms.rule not in RULE_NOTES:
        return [
            f"Customer {terms.customer_number} has the penalty rule {terms.rule!r}, "
            f"which is not known ({', '.join(RULE_NOTES)}): no penalties are computed."
        ]
    if terms.rule == "fixed" and terms.rate is None:
        return [
            f"Customer {terms.customer_number} has the fixed penalty rule without a "
            "rate: set the contractual annual rate; no interest is computed."
        ]
    return []


def _item_warnings(items: Sequence[ItemPenalty], include_disputed: bool) -> list[str]:
    """Disputed items left without penalty, and items lacking a reference rate."""
    found = []
    for item in items:
        if item.status in EXCLUDED_STATUSES and not include_disputed:
            found.append(
                f"{item.doc_number} is {item.status}: it bears no penalty unless "
                "disputed items are included."
            )
        if item.note and item.note.startswith("no reference rate"):
            found.append(f"{item.doc_number}: {item.note}.")
    return found


def _credit_warnings(items: Sequence[ItemPenalty], credits: list) -> list[str]:
    """DESIGN 5: a selection of invoices while unapplied credits stay outside it."""
    if not any(item.doc_type == "invoice" and item.open_amount > 0 for item in items):
        return []
    selected = {item.item_id for item in items}
    outside = [c for c in credits if c[0] not in selected]
    if not outside:
        return []
    named = ", ".join(f"{doc} {amount:.2f} {cur}" for _, doc, amount, cur in outside)
    return [
        f"The customer holds unapplied credits or payments not in this selection "
        f"({named}); they may deduct them from what is claimed."
    ]


def totals(items: Iterable[ItemPenalty]) -> dict[str, Totals]:
    """Per-currency sums of rounded item values; indemnities under their currency."""
    sums: dict[str, list[Decimal]] = defaultdict(lambda: [money.ZERO] * 3)
    for item in items:
        sums[item.currency][0] += item.open_amount
        sums[item.currency][1] += item.interest
        if item.indemnity and item.indemnity_currency:
            sums[item.indemnity_currency][2] += item.indemnity
    result = {}
    for currency in sorted(sums):
        selected, interest, indemnity = sums[currency]
        result[currency] = Totals(
            amount_selected=money.to_cents(selected),
            interest=money.to_cents(interest),
            indemnity=money.to_cents(indemnity),
            penalties=money.to_cents(interest + indemnity),
            amount_including_penalties=money.to_cents(selected + interest + indemnity),
        )
    return result


# ---------------------------------------------------------------------------
# One item


def item_penalty(
    row: dict[str, Any],
    terms: _Terms,
    payments: Sequence[tuple[dt.date | None, Decimal]],
    as_of: dt.date,
    include_disputed: bool = False,
) -> ItemPenalty:
    """What one item bears at the as-of date: interest periods and indemnity.

    Only invoices owed (open amount > 0) and late (as-of date after the due date)
    bear a penalty, under a rule other than `none`, and never disputed or litigation
    items unless they are included. Interest is simple, on 365 days, computed exactly
    over every period and rounded half-up to the cent once per item
    (money.to_cents); the periods show shares of that one rounded figure (_shares).
    """
    reason = _no_penalty_reason(row, terms, as_of, include_disputed)
    if reason:
        return _item(row, as_of, note=reason)

    # The interest periods and their rates (a missing rate means no interest).
    spans, basis = _base_spans(row, payments, as_of)
    if terms.rule == "fixed" and terms.rate is None:
        spans, basis = [], "no contractual rate set: no interest"
    rated, missing = _rated_periods(spans, row, terms)
    rate_days = tuple(dict.fromkeys(r for *_, r in rated if r is not None))
    if missing:
        rated, basis = [], f"no reference rate in force on {missing.isoformat()}"
        rate_days = (missing,)
    periods = _shares(rated)
    # The shares add up to the one rounding of the exact sum over the periods.
    interest = sum((p.interest for p in periods), money.ZERO)

    # The fixed indemnity, then the note saying what the figures rest on.
    indemnity, indemnity_currency, why_not = _indemnity(row, terms)
    note = "; ".join(part for part in (basis, why_not) if part) or None
    return _item(
        row,
        as_of,
        interest=interest,
        indemnity=indemnity,
        indemnity_currency=indemnity_currency,
        periods=periods,
        note=note,
        rate_days=rate_days,
    )


def _no_penalty_reason(
    row: dict, terms: _Terms, as_of: dt.date, include_disputed: bool
) -> str | None:
    """Why an item bears no penalty at all, or None when it may bear one."""
    if row["doc_type"] != "invoice":
        kind = row["doc_type"].replace("_", " ")
        return f"{kind}s bear no penalty"
    if row["open_amount"] <= 0:
        return "nothing owed on it"
    if row["status"] in EXCLUDED_STATUSES and not include_disputed:
        return f"{row['status']}: excluded from penalties"
    if row["due_date"] is None:
        return "no due date: no penalty until one is set"
    if as_of <= row["due_date"]:
        return f"not late at {as_of.isoformat()}: due on {row['due_date'].isoformat()}"
    if terms.rule == "none":
        return "penalties are off for this customer (rule none)"
    if terms.rule not in RULE_NOTES:
        return f"unknown penalty rule {terms.rule!r}"
    return None


def _item(row: dict, as_of: dt.date, **penalty: Any) -> ItemPenalty:
    """An ItemPenalty from a loaded row; penalty fields default to none."""
    interest = penalty.get("interest", money.ZERO)
    indemnity = penalty.get("indemnity", money.ZERO)
    indemnity_currency = penalty.get("indemnity_currency")
    same = indemnity_currency in (None, row["currency"])
    return ItemPenalty(
        item_id=row["item_id"],
        customer_number=row["customer_number"],
        doc_number=row["doc_number"],
        doc_type=row["doc_type"],
        currency=row["currency"],
        issue_date=row["issue_date"],
        due_date=row["due_date"],
        days_late=_days_late(row, as_of),
        amount=row["amount"],
        open_amount=row["open_amount"],
        status=row["status"],
        reference=row["reference"],
        interest=interest,
        indemnity=indemnity,
        indemnity_currency=indemnity_currency,
        penalty=interest + indemnity if same else interest,
        periods=penalty.get("periods", ()),
        note=penalty.get("note"),
        rate_days=penalty.get("rate_days", ()),
    )


def _days_late(row: dict, as_of: dt.date) -> int | None:
    """as-of date - due date, never negative; credits and payments are never late."""
    if row["doc_type"] in ("credit_note", "payment"):
        return 0
    if row["due_date"] is None:
        return None
    return max((as_of - row["due_date"]).days, 0)


def _base_spans(
    row: dict, payments: Sequence[tuple[dt.date | None, Decimal]], as_of: dt.date
) -> tuple[list[tuple[dt.date, dt.date, Decimal]], str]:
    """The late days cut at each dated payment: (first day, last day, unpaid base).

    The first late day is the day after the due date. A payment made on day P still
    leaves its amount unpaid on P (interest runs up to the day of payment) and lowers
    the base from P + 1. Payments on or before the due date, and undated ones, are
    already out of the base; payments after the as-of date are not made yet (the open
    amount at the as-of date already includes them).
    """
    due = row["due_date"]
    late = sorted((d, a) for d, a in payments if d is not None and due < d <= as_of)
    base = row["open_amount"] + sum((a for _, a in late), Decimal(0))
    spans = []
    start = due + ONE_DAY
    for paid_on, amount in late:
        if paid_on >= start and base > 0:
            spans.append((start, paid_on, base))
        start = max(start, paid_on + ONE_DAY)
        base -= amount
    if start <= as_of and base > 0:
        spans.append((start, as_of, base))
    return spans, _basis_note(payments, late, due, as_of)


def _basis_note(
    payments: Sequence, late: Sequence, due: dt.date, as_of: dt.date
) -> str:
    """What the interest rests on, in words, for the breakdown."""
    if not payments:
        return (
            "interest on the open amount at the as-of date: the ledger holds no "
            "dated payments for this invoice"
        )
    notes = []
    if late:
        count = len(late)
        notes.append(f"interest follows {count} dated payment(s) after the due date")
    if any(d is not None and d <= due for d, _ in payments):
        notes.append("payments made by the due date lower the base")
    if any(d is None for d, _ in payments):
        notes.append("payments without a date are taken as made by the due date")
    if any(d is not None and d > as_of for d, _ in payments):
        notes.append("payments after the as-of date are not made yet")
    return "; ".join(notes) or "interest on the open amount at the as-of date"


# A period before its share is known: first day, last day, base, rate, and the
# day whose table rate it reads (None under the fixed rule).
Rated = tuple[dt.date, dt.date, Decimal, Decimal, dt.date | None]


def _rated_periods(
    spans: Sequence[tuple[dt.date, dt.date, Decimal]], row: dict, terms: _Terms
) -> tuple[list[Rated], dt.date | None]:
    """Give each span its rate, splitting at 1 January / 1 July where the rule does.

    Returns the periods, or the first day whose reference rate is unknown.
    """
    split = terms.rule == "de_legal" or (
        terms.rule == "fr_legal" and terms.fr_reference == "split"
    )
    periods: list[Rated] = []
    for start, end, base in spans:
        parts = _half_year_parts(start, end) if split else [(start, end)]
        for part_start, part_end in parts:
            reference = _reference_day(terms, row["due_date"], part_start)
            rate = _annual_rate(terms, reference)
            if rate is None:
                return [], reference
            day = None if terms.rule == "fixed" else reference
            periods.append((part_start, part_end, base, rate, day))
    return periods, None


def _shares(rated: Sequence[Rated]) -> tuple[Period, ...]:
    """The periods with their shares of the item's interest, in cents.

    DESIGN 7 rounds once per item: the item's interest is the exact sum over all
    periods, rounded half-up to the cent. Rounding each period on its own would
    make the breakdown disagree with it by a cent or more (71.3941 + 300.5196 +
    259.0114 = 630.9251 -> 630.93, but 71.39 + 300.52 + 259.01 = 630.92). So the
    exact running sum is rounded at the end of each period, and a period's share
    is that rounded running sum less the one before it: the shares add up to the
    item's interest by construction, and each one is within a cent of its own
    exact value.
    """
    periods = []
    running, shown = Decimal(0), money.ZERO
    for start, end, base, rate, _reference in rated:
        days = (end - start).days + 1
        running += base * rate * days
        rounded = money.to_cents(_exact(running))
        share = rounded - shown
        shown = rounded
        periods.append(Period(start, end, days, money.to_cents(base), rate, share))
    return tuple(periods)


def _reference_day(terms: _Terms, due: dt.date, day: dt.date) -> dt.date:
    """The day whose central-bank rate applies to a late day of this item.

    fr_legal (L441-10) and de_legal (BGB 247): the rate in force on 1 January for
    days in January-June, on 1 July for July-December; with the setting
    "due_half_year", fr_legal keeps the half-year in which the invoice fell due (its
    due date). uk_legal (1998 Act, s.6): the rate of 31 December for a debt falling
    overdue (the day after its due date) in January-June, of 30 June for
    July-December, fixed for the whole debt.
    """
    if terms.rule == "uk_legal":
        return _uk_reference_day(due + ONE_DAY)
    if terms.rule == "fr_legal" and terms.fr_reference == "due_half_year":
        return _half_start(due)
    return _half_start(day)


def _annual_rate(terms: _Terms, reference: dt.date) -> Decimal | None:
    """The annual percent of the rule: table rate + points, or the contract's rate."""
    if terms.rule == "fixed":
        return _tidy(terms.rate)
    base = rates.table(RULE_TABLES[terms.rule]).rate_on(reference)
    if base is None:
        return None
    points = RULE_POINTS[terms.rule]
    if terms.rule == "de_legal" and terms.is_consumer:
        points = DE_CONSUMER_POINTS
    return base + points


def _exact(numerator: Decimal) -> Decimal:
    """amount x percent x days / (100 x 365), with room for every digit."""
    with decimal.localcontext() as context:
        context.prec = 60
        return numerator / (100 * DAY_COUNT)


def _indemnity(row: dict, terms: _Terms) -> tuple[Decimal, str | None, str | None]:
    """The fixed recovery sum of a late invoice: (amount, currency, why none).

    fr_legal (Code de commerce D441-5), de_legal (BGB 288(5)) and fixed: 40 EUR per
    late invoice, in euros whatever the invoice's currency, the full 40 EUR even after
    a partial payment. `fixed` keeps it because a contractual rate replaces the legal
    interest rate, not the legal recovery indemnity. uk_legal (1998 Act, s.5A): 40,
    70 or 100 GBP for a debt (here the open amount at the as-of date) under 1,000.00,
    under 10,000.00, or from 10,000.00. None when the customer has it off, is a
    consumer, or is in insolvency proceedings.
    """
    if not terms.indemnity_enabled:
        return money.ZERO, None, "fixed indemnity off for this customer"
    if terms.is_consumer:
        return money.ZERO, None, "no fixed indemnity: the customer is a consumer"
    if terms.in_insolvency:
        return money.ZERO, None, "no fixed indemnity: insolvency proceedings"
    if terms.rule != "uk_legal":
        return INDEMNITY_EUR, "EUR", None
    debt = row["open_amount"]
    fixed_sum = next(s for limit, s in UK_FIXED_SUMS if limit is None or debt < limit)
    return fixed_sum, "GBP", None


# ---------------------------------------------------------------------------
# Calendar


def _half_start(day: dt.date) -> dt.date:
    """1 January or 1 July of the half-year holding `day`."""
    return dt.date(day.year, 1 if day.month <= 6 else 7, 1)


def _uk_reference_day(day: dt.date) -> dt.date:
    """31 December before a day in January-June, 30 June before one in July-December."""
    if day.month <= 6:
        return dt.date(day.year - 1, 12, 31)
    return dt.date(day.year, 6, 30)


def _half_year_parts(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    """Cut [start, end] (inclusive) at each 1 January and 1 July."""
    parts = []
    while start <= end:
        following = _next_half_start(start)
        last = min(end, following - ONE_DAY)
        parts.append((start, last))
        start = following
    return parts


def _next_half_start(day: dt.date) -> dt.date:
    if day.month <= 6:
        return dt.date(day.year, 7, 1)
    return dt.date(day.year + 1, 1, 1)


def _tidy(rate: Decimal) -> Decimal:
    """A rate with two decimals, or more only when it has them (12.5000 -> 12.50)."""
    cents = rate.quantize(money.CENT)
    return cents if cents == rate else rate.normalize()


# ---------------------------------------------------------------------------
# Output


def as_json(assessment: Assessment) -> dict[str, Any]:
    """The command line's JSON form (DESIGN 13): amounts as "1234.56" strings."""
    return {
        "items": [_item_json(item) for item in assessment.items],
        "totals": {
            currency: {
                "amount_selected": money.as_text(t.amount_selected),
                "interest": money.as_text(t.interest),
                "indemnity": money.as_text(t.indemnity),
                "penalties": money.as_text(t.penalties),
                "amount_including_penalties": money.as_text(
                    t.amount_including_penalties
                ),
            }
            for currency, t in assessment.totals.items()
        },
        "warnings": list(assessment.warnings),
    }


def _item_json(item: ItemPenalty) -> dict[str, Any]:
    return {
        "doc_number": item.doc_number,
        "currency": item.currency,
        "open_amount": money.as_text(item.open_amount),
        "days_late": item.days_late,
        "interest": money.as_text(item.interest),
        "indemnity": money.as_text(item.indemnity),
        "penalty": money.as_text(item.penalty),
        "periods": [
            {
                "start": p.start.isoformat(),
                "end": p.end.isoformat(),
                "days": p.days,
                "base": money.as_text(p.base),
                "rate": str(p.rate),
                "interest": money.as_text(p.interest),
            }
            for p in item.periods
        ],
    }

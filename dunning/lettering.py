"""Lettering (matching) groups: which invoice is still open, and by how much.

A group of ledger lines sharing a letter is a set of invoices and the payments or
credits matched to them. Its sum is what stays open: zero means settled. Payments and
credits are spread over the group's invoices oldest first, and each share becomes a
dated allocation, so interest can follow what was actually unpaid in each period.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from dunning.money import ZERO


@dataclass
class Line:
    """One lettered ledger line."""

    key: int  # the caller's row identifier (line number)
    customer_number: str
    currency: str
    letter: str
    doc_number: str
    date: dt.date | None
    amount: Decimal  # positive: invoice side; negative: payment or credit side


@dataclass
class Outcome:
    """What a group leaves: open amounts per kept line, allocations per invoice."""

    open_amounts: dict[int, Decimal] = field(default_factory=dict)
    allocations: list[tuple[int, dt.date | None, Decimal, str]] = field(
        default_factory=list
    )
    consumed: set[int] = field(default_factory=set)


def _order(line: Line) -> tuple:
    return (line.date or dt.date.max, line.key)


def reduce(lines: list[Line]) -> Outcome:
    """Settle each (customer, currency, letter) group.

    Invoices (positive lines) are kept with their open amount, zero when settled.
    A payment or credit is consumed by the group's invoices oldest first; what an
    invoice receives is an allocation dated on the payment. A payment larger than
    the group's invoices stays open for the remainder.
    """
    groups: dict[tuple, list[Line]] = defaultdict(list)
    for line in lines:
        groups[(line.customer_number, line.currency, line.letter)].append(line)
    outcome = Outcome()
    for group in groups.values():
        _settle(group, outcome)
    return outcome


def _settle(group: list[Line], outcome: Outcome) -> None:
    invoices = sorted((x for x in group if x.amount > 0), key=_order)
    credits = sorted((x for x in group if x.amount < 0), key=_order)
    remaining = {invoice.key: invoice.amount for invoice in invoices}

    # Spread each payment or credit over the invoices, oldest invoice first.
    for credit in credits:
        available = -credit.amount
        for invoice in invoices:
            if available == ZERO:
                break
            share = min(available, remaining[invoice.key])
            if share > ZERO:
                remaining[invoice.key] -= share
                available -= share
                outcome.allocations.append(
                    (invoice.key, credit.date, share, credit.doc_number)
                )
        if available > ZERO:
            outcome.open_amounts[credit.key] = -available
        else:
            outcome.consumed.add(credit.key)

    for invoice in invoices:
        outcome.open_amounts[invoice.key] = remaining[invoice.key]
    for line in group:
        if line.amount == ZERO:
            outcome.consumed.add(line.key)

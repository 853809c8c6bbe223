"""Lettering groups: what stays open on each invoice, and the dated allocations."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from dunning import lettering

D = dt.date


def line(key, amount, date, letter="AA", doc=None, customer="00012", currency="EUR"):
    return lettering.Line(
        key=key,
        customer_number=customer,
        currency=currency,
        letter=letter,
        doc_number=doc or f"DOC-{key}",
        date=date,
        amount=Decimal(amount),
    )


@pytest.mark.parametrize(
    ("lines", "open_amounts", "allocations", "consumed"),
    [
        pytest.param(
            [line(1, "1440.00", D(2025, 3, 3)), line(2, "-1440.00", D(2025, 4, 2))],
            {1: "0.00"},
            [(1, D(2025, 4, 2), "1440.00", "DOC-2")],
            {2},
            id="settled: 1440.00 - 1440.00 = 0",
        ),
        pytest.param(
            [line(1, "2880.00", D(2025, 3, 20)), line(2, "-1000.00", D(2025, 4, 25))],
            {1: "1880.00"},
            [(1, D(2025, 4, 25), "1000.00", "DOC-2")],
            {2},
            id="partial: 2880.00 - 1000.00 = 1880.00 open",
        ),
        pytest.param(
            [line(1, "100.00", D(2025, 6, 1)), line(2, "-150.00", D(2025, 7, 1))],
            {1: "0.00", 2: "-50.00"},
            [(1, D(2025, 7, 1), "100.00", "DOC-2")],
            set(),
            id="over-payment: 100.00 - 150.00 leaves -50.00 on the payment",
        ),
        pytest.param(
            [
                line(2, "200.00", D(2025, 2, 1)),
                line(1, "100.00", D(2025, 1, 1)),
                line(3, "-250.00", D(2025, 3, 1)),
            ],
            {1: "0.00", 2: "50.00"},
            [
                (1, D(2025, 3, 1), "100.00", "DOC-3"),
                (2, D(2025, 3, 1), "150.00", "DOC-3"),
            ],
            {3},
            id="oldest invoice first: 250 = 100 + 150, 200 - 150 = 50 open",
        ),
        pytest.param(
            [
                line(1, "100.30", D(2025, 6, 16)),
                line(2, "-50.10", D(2025, 7, 10)),
                line(3, "-50.20", D(2025, 7, 15)),
            ],
            {1: "0.00"},
            [
                (1, D(2025, 7, 10), "50.10", "DOC-2"),
                (1, D(2025, 7, 15), "50.20", "DOC-3"),
            ],
            {2, 3},
            id="case 16 AC: 100.30 - 50.10 - 50.20 = 0.00 exactly",
        ),
        pytest.param(
            [
                line(1, "0.70", D(2025, 6, 20)),
                line(2, "-0.10", D(2025, 6, 25)),
                line(3, "-0.20", D(2025, 7, 18)),
                line(4, "-0.40", D(2025, 7, 19)),
            ],
            {1: "0.00"},
            [
                (1, D(2025, 6, 25), "0.10", "DOC-2"),
                (1, D(2025, 7, 18), "0.20", "DOC-3"),
                (1, D(2025, 7, 19), "0.40", "DOC-4"),
            ],
            {2, 3, 4},
            id="case 16 AD: 0.70 - 0.10 - 0.20 - 0.40 = 0.00 exactly",
        ),
        pytest.param(
            [line(1, "-300.00", D(2025, 5, 5))],
            {1: "-300.00"},
            [],
            set(),
            id="payment alone in its group stays open",
        ),
        pytest.param(
            [line(1, "500.00", D(2025, 5, 5)), line(2, "0.00", D(2025, 5, 6))],
            {1: "500.00"},
            [],
            {2},
            id="zero line is consumed",
        ),
    ],
)
def test_reduce(lines, open_amounts, allocations, consumed):
    outcome = lettering.reduce(lines)
    assert outcome.open_amounts == {k: Decimal(v) for k, v in open_amounts.items()}
    assert outcome.allocations == [
        (key, date, Decimal(amount), doc) for key, date, amount, doc in allocations
    ]
    assert outcome.consumed == consumed


def test_groups_are_per_customer_currency_and_letter():
    """One letter in two customers and two currencies is four separate groups.

    00012 EUR AA: 100 - 100 = 0; 00027 EUR AA: 100 open (its payment is in USD);
    00027 USD AA: -100 open; 00012 EUR AB: 40 open.
    """
    outcome = lettering.reduce(
        [
            line(1, "100.00", D(2025, 1, 1)),
            line(2, "-100.00", D(2025, 2, 1)),
            line(3, "100.00", D(2025, 1, 1), customer="00027"),
            line(4, "-100.00", D(2025, 2, 1), customer="00027", currency="USD"),
            line(5, "40.00", D(2025, 1, 1), letter="AB"),
        ]
    )
    assert outcome.open_amounts == {
        1: Decimal("0.00"),
        3: Decimal("100.00"),
        4: Decimal("-100.00"),
        5: Decimal("40.00"),
    }
    assert outcome.consumed == {2}


def test_open_amounts_are_exact_decimals():
    """0.1 + 0.2 in float is 0.30000000000000004; in Decimal 0.30 - 0.10 - 0.20 = 0."""
    outcome = lettering.reduce(
        [
            line(1, "0.30", D(2025, 1, 1)),
            line(2, "-0.10", D(2025, 1, 2)),
            line(3, "-0.20", D(2025, 1, 3)),
        ]
    )
    remaining = outcome.open_amounts[1]
    assert isinstance(remaining, Decimal)
    assert remaining == 0
    assert not remaining.is_signed()

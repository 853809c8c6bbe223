"""Amounts and dates in the customer's language."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from dunning import formatting


@pytest.mark.parametrize(
    ("value", "currency", "language", "expected"),
    [
        # French groups with a narrow no-break space and puts the symbol after
        (Decimal("1071.55"), "EUR", "fr", "1\u202f071,55\xa0€"),
        (Decimal("1071.55"), "EUR", "en", "€1,071.55"),
        (Decimal("-250.00"), "EUR", "fr", "-250,00\xa0€"),
        (Decimal("2000.00"), "USD", "en", "US$2,000.00"),
        (Decimal("0.5"), "GBP", "en", "£0.50"),
    ],
)
def test_money(value, currency, language, expected):
    assert formatting.money(value, currency, language) == expected


@pytest.mark.parametrize(
    ("language", "expected"), [("fr", "14/08/2025"), ("en", "14 Aug 2025")]
)
def test_date(language, expected):
    assert formatting.date(dt.date(2025, 8, 14), language) == expected


def test_totals_stay_per_currency():
    text = formatting.totals({"EUR": Decimal("10"), "USD": Decimal("5")}, "en")
    assert text == "€10.00 + US$5.00"

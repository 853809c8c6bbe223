"""Amounts and dates in the customer's language."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import babel
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
    ("day", "language", "expected"),
    [
        (dt.date(2025, 8, 14), "fr", "14/08/2025"),
        (dt.date(2025, 8, 14), "en", "14 Aug 2025"),  # DESIGN 8's example
        # Three letters for every month: en_GB's "Sept" is not DESIGN 8's way.
        (dt.date(2025, 9, 15), "en", "15 Sep 2025"),
        (dt.date(2025, 9, 15), "fr", "15/09/2025"),
        (dt.date(2026, 6, 1), "en", "1 Jun 2026"),
        (dt.date(2026, 7, 4), "EN", "4 Jul 2026"),  # the language in any case
        (dt.date(2025, 9, 15), "de", "15/09/2025"),  # unknown: French
        (dt.date(2025, 9, 15), None, "15/09/2025"),
    ],
)
def test_date(day, language, expected):
    assert formatting.date(day, language) == expected


def test_every_english_month_has_three_letters():
    months = [
        formatting.date(dt.date(2025, m, 1), "en").split()[1] for m in range(1, 13)
    ]
    assert months == [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun",
        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]  # fmt: skip


def test_totals_stay_per_currency():
    text = formatting.totals({"EUR": Decimal("10"), "USD": Decimal("5")}, "en")
    assert text == "€10.00 + US$5.00"


def test_each_locale_is_parsed_once(monkeypatch):
    """Babel parses a locale given by name on every call; ours are parsed once."""
    for language in ("fr", "en"):
        formatting.money(Decimal("1"), "EUR", language)
        formatting.date(dt.date(2025, 8, 14), language)
    parsed = []
    original = babel.Locale.parse

    def counted(identifier, *args, **kwargs):
        if isinstance(identifier, str):
            parsed.append(identifier)
        return original(identifier, *args, **kwargs)

    monkeypatch.setattr(babel.Locale, "parse", counted)
    for language in ("fr", "en", "EN", None):
        formatting.money(Decimal("1071.55"), "EUR", language)
        formatting.date(dt.date(2025, 8, 14), language)
    assert parsed == []
    assert formatting.locale_of("EN") is formatting.locale_of("en")

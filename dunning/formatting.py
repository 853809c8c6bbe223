"""Amounts and dates written for a reader, in the customer's language (Babel).

Formatting is apart from computing: values arrive as Decimal and dates, and leave as
text. `fr` writes `1 071,55 €` and `14/08/2025`; `en` writes `€1,071.55` and
`14 Aug 2025`.
"""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal

import babel
from babel import dates as babel_dates
from babel import numbers as babel_numbers

LOCALES = {"fr": "fr_FR", "en": "en_GB"}
DATE_FORMATS = {"fr": "dd/MM/yyyy", "en": "d MMM yyyy"}
# The month names of English dates come from Babel's `en`: en_GB abbreviates
# September as "Sept", while DESIGN 8 writes three letters for every month
# (`14 Aug 2025`, `15 Sep 2025`). Amounts keep en_GB (`€1,071.55`).
DATE_LOCALES = {"fr": "fr_FR", "en": "en"}


def locale_of(language: str | None) -> babel.Locale:
    """The Babel locale of a customer language (French when unknown)."""
    return _parsed(LOCALES.get((language or "fr").lower(), LOCALES["fr"]))


@functools.cache
def _parsed(identifier: str) -> babel.Locale:
    """A Babel locale parsed once: Babel parses a locale given by name on every
    call, a good part of the cost of writing one amount or date."""
    return babel.Locale.parse(identifier)


def money(value: Decimal | None, currency: str, language: str | None = "fr") -> str:
    """An amount with its currency, e.g. '1 234,56 €' or '€1,234.56'."""
    if value is None:
        return ""
    return babel_numbers.format_currency(
        Decimal(value), currency, locale=locale_of(language)
    )


def totals(values: dict[str, Decimal], language: str | None = "fr") -> str:
    """Per-currency totals side by side, never added together."""
    return " + ".join(
        money(amount, currency, language) for currency, amount in values.items()
    )


def date(value: dt.date | None, language: str | None = "fr") -> str:
    """A date as the customer reads it, e.g. '14/08/2025' or '14 Aug 2025'."""
    if value is None:
        return ""
    key = (language or "fr").lower()
    if key not in DATE_FORMATS:
        key = "fr"
    return babel_dates.format_date(
        value, DATE_FORMATS[key], locale=_parsed(DATE_LOCALES[key])
    )

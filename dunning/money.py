"""Money values: Decimal only, two places, half-up rounding at named steps."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

# DuckDB column type for every stored amount.
SQL_TYPE = "DECIMAL(18,2)"


def to_cents(value: Decimal | int | str) -> Decimal:
    """Round a computed amount half-up to the cent (the convention for penalties)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def as_text(value: Decimal | None) -> str | None:
    """The JSON form of an amount: dot decimal, two places, e.g. "1234.56"."""
    if value is None:
        return None
    return f"{to_cents(value):.2f}"


def totals_by_currency(pairs: Iterable[tuple[str, Decimal]]) -> dict[str, Decimal]:
    """Sum amounts per currency; never across currencies."""
    totals: dict[str, Decimal] = {}
    for currency, amount in pairs:
        totals[currency] = totals.get(currency, ZERO) + Decimal(amount)
    return {currency: to_cents(total) for currency, total in sorted(totals.items())}


def totals_as_text(totals: dict[str, Decimal]) -> dict[str, str]:
    """Per-currency totals in their JSON form."""
    return {currency: as_text(amount) for currency, amount in totals.items()}

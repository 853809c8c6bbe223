"""The one source of "today", so tests and replays can fix it."""

from __future__ import annotations

import datetime as dt
import os

from dunning.errors import InvalidValue


def today() -> dt.date:
    """Today's date, or the date in DUNNING_TODAY when set (tests, replays)."""
    fixed = os.environ.get("DUNNING_TODAY")
    if fixed:
        return parse_iso(fixed, "DUNNING_TODAY")
    return dt.date.today()


def parse_iso(text: str | dt.date | None, what: str = "date") -> dt.date:
    """Parse an ISO YYYY-MM-DD date given on the command line or in the API."""
    if isinstance(text, dt.datetime):
        return text.date()
    if isinstance(text, dt.date):
        return text
    if text is None:
        return today()
    try:
        return dt.date.fromisoformat(str(text).strip())
    except ValueError as error:
        raise InvalidValue(
            f"{what} {text!r} is not a date: write it as YYYY-MM-DD, e.g. 2025-08-14."
        ) from error


def as_of_or_today(value: str | dt.date | None) -> dt.date:
    """The as-of date to compute at: the given one, else today."""
    return today() if value in (None, "") else parse_iso(value, "as-of date")

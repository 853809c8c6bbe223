"""Reference rate tables: the dated central-bank rates that legal penalties build on.

Each table is a CSV file in `data/rates/` (effective_date,rate_percent) whose header
comments name its official source and the date through which it was checked. A rate
looked up past that date is still the last known one, but callers warn about it
(`penalties.rate_warnings`, for each day an interest period actually reads) so nobody
relies on a silent guess.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from dunning.errors import WorkspaceError

RATES_DIR = Path(__file__).resolve().parent.parent / "data" / "rates"

# The tables by the name the penalty rules use.
FILES = {
    "ecb": "ecb_mro.csv",
    "de_base": "de_basiszinssatz.csv",
    "boe": "boe_bank_rate.csv",
}


@dataclass(frozen=True)
class Table:
    """One rate table: its changes, oldest first, and how far it was checked."""

    name: str
    path: Path
    source: str
    checked_through: dt.date
    changes: tuple[tuple[dt.date, Decimal], ...]

    def rate_on(self, day: dt.date) -> Decimal | None:
        """The rate in force on `day` (the latest change on or before it)."""
        found = None
        for effective, rate in self.changes:
            if effective > day:
                break
            found = rate
        return found

    @property
    def label(self) -> str:
        """The file name as a user finds it in the project: data/rates/NAME."""
        return f"data/rates/{self.path.name}"


@functools.cache
def table(name: str) -> Table:
    """The rate table `name` (ecb, de_base, boe), read once per process."""
    path = RATES_DIR / FILES[name]
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise WorkspaceError(
            f"The rate table {path} cannot be read ({error.strerror}); restore it "
            "from the project's data/rates/ folder."
        ) from error
    return _parse(name, path, text)


def _parse(name: str, path: Path, text: str) -> Table:
    """Read the header comments, then the dated rows, refusing a malformed file."""
    meta: dict[str, str] = {}
    rows: list[str] = []
    for line in text.splitlines():
        if line.startswith("#"):
            key, _, value = line.lstrip("# ").partition(":")
            meta.setdefault(key.strip(), value.strip())
        elif line.strip():
            rows.append(line)
    try:
        checked = dt.date.fromisoformat(meta["checked_through"])
        changes = tuple(
            (dt.date.fromisoformat(row["effective_date"]), Decimal(row["rate_percent"]))
            for row in csv.DictReader(rows)
        )
    except (KeyError, ValueError, ArithmeticError) as error:
        raise WorkspaceError(
            f"The rate table {path} is malformed ({error}): it needs a "
            "'# checked_through: YYYY-MM-DD' line and rows effective_date,rate_percent."
        ) from error
    return Table(name, path, meta.get("source", ""), checked, tuple(sorted(changes)))

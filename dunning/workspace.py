"""The workspace as one object: what the pages, the command line and a notebook use."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb

from dunning import aging, clock, customers, importing, search, store


class Workspace:
    """One DuckDB workspace file; methods delegate to the domain modules."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path | None = None):
        self.con = con
        self.path = path

    @classmethod
    def open(cls, path: str | Path | None = None) -> Workspace:
        """Open (creating and migrating if needed) the workspace file."""
        resolved = Path(path) if path else store.default_path()
        return cls(store.connect(resolved), resolved)

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    @property
    def is_demo(self) -> bool:
        return bool(store.get_setting(self.con, "workspace.demo"))

    def import_file(self, path: str | Path, **options: Any) -> importing.Report:
        """Import a ledger, customers or contacts file (see importing.Options)."""
        return importing.import_file(self.con, Path(path), importing.Options(**options))

    def customers(self, as_of: str | dt.date | None = None) -> list[dict[str, Any]]:
        """Balances and overdue per customer at the as-of date."""
        return aging.customers(self.con, clock.as_of_or_today(as_of))

    def search(
        self,
        as_of: str | dt.date | None = None,
        limit: int = search.DEFAULT_LIMIT,
        offset: int = 0,
        sort: str = "due_date",
        descending: bool = False,
        **filters: Any,
    ) -> search.Result:
        """Open items matching the filters: count, totals per currency, a page."""
        for name in ("customer", "doc_type", "status", "currency"):
            if isinstance(filters.get(name), str):
                filters[name] = [filters[name]]
        return search.run(
            self.con,
            search.Filters(**filters),
            clock.as_of_or_today(as_of),
            limit=limit,
            offset=offset,
            sort=sort,
            descending=descending,
        )

    def customer(self, number: str) -> dict[str, Any]:
        return customers.get(self.con, number)

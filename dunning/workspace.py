"""The workspace as one object: what the pages, the command line and a notebook use."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb

from dunning import (
    aging,
    clock,
    customers,
    importing,
    penalties,
    search,
    store,
    templates,
)
from dunning.errors import InvalidValue


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

    def actions(self, **filters: Any) -> list[dict[str, Any]]:
        """Actions by customer, status, type, due_by (see actions.listing)."""
        from dunning import actions

        return actions.listing(self.con, **filters)

    def action(self, action_id: int, as_of: str | dt.date | None = None) -> dict:
        """One action with its items, amounts then and at the as-of date."""
        from dunning import actions

        return actions.show(self.con, action_id, clock.as_of_or_today(as_of))

    def run_due(
        self,
        date: str | dt.date | None = None,
        out_dir: str | Path = "exports",
        dry_run: bool = False,
    ) -> Any:
        """Carry out the automatic actions due by the date (see actions.run_due)."""
        from dunning import actions

        return actions.run_due(self.con, date, Path(out_dir), dry_run=dry_run)

    def penalties(
        self,
        customer: str,
        items: list[str] | str | None = None,
        as_of: str | dt.date | None = None,
        include_disputed: bool = False,
    ) -> penalties.Assessment:
        """Late-payment penalties on a customer's items named by document number
        (None: every open item) at the as-of date (DESIGN 7)."""
        if isinstance(items, str):
            items = [items]
        ids = None if items is None else penalties.item_ids(self.con, customer, items)
        return penalties.assess(
            self.con, customer, clock.as_of_or_today(as_of), ids, include_disputed
        )

    def preview(
        self,
        customer: str,
        items: list[str] | str,
        template: str | None = None,
        body: str | None = None,
        subject: str | None = None,
        as_of: str | dt.date | None = None,
        format: str = "text",
        **options: Any,
    ) -> str:
        """The rendered body (text or html) of a template or a body for a
        customer's items named by document number (DESIGN 14)."""
        if format not in ("text", "html"):
            raise InvalidValue(f"Preview format {format!r}: use text or html.")
        shown = templates.preview(
            self.con, customer, items, template, body, subject, as_of, **options
        )
        return shown.html if format == "html" else shown.text

"""The command line: `python -m dunning COMMAND` (DESIGN 13)."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import logging
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from dunning import aging, clock, importing, money, search, store
from dunning.errors import DunningError

log = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    """Run one command; errors become one sentence on stderr and exit code 2."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return args.handler(args)
    except DunningError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; nothing was changed.", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db", type=Path, help="workspace file (default: $DUNNING_DB or data/)"
    )
    common.add_argument("--json", action="store_true", help="print JSON on stdout")
    common.add_argument("--debug", action="store_true", help="log debug messages")

    parser = argparse.ArgumentParser(
        prog="python -m dunning",
        description="Accounts-receivable dunning workspace.",
        parents=[common],
    )
    commands = parser.add_subparsers(metavar="COMMAND")

    demo = commands.add_parser(
        "demo", parents=[common], help="create or reset the demo workspace"
    )
    demo.add_argument("--as-of", type=_date, help="date the demo ledger is built for")
    demo.set_defaults(handler=_demo)

    imp = commands.add_parser(
        "import", parents=[common], help="import a ledger, customers or contacts file"
    )
    imp.add_argument("file", type=Path)
    imp.add_argument(
        "--kind", default="auto", choices=["auto", "items", "customers", "contacts"]
    )
    imp.add_argument(
        "--format",
        dest="fmt",
        default="auto",
        choices=["auto", "csv", "excel", "fec", "parquet"],
    )
    imp.add_argument("--mapping", help="a saved mapping name or a JSON file")
    imp.add_argument("--save-mapping", help="save the mapping used under this name")
    imp.add_argument("--date-order", choices=["dmy", "mdy", "ymd"])
    imp.add_argument("--payment-terms-days", type=int)
    imp.add_argument("--mode", default="replace", choices=["replace", "append"])
    imp.add_argument("--as-of", type=_date)
    imp.add_argument("--encoding", help="override the detected text encoding")
    imp.add_argument("--force", action="store_true", help="import the same file again")
    imp.add_argument(
        "--strict",
        action="store_true",
        help="cancel the whole import when any row is rejected",
    )
    imp.set_defaults(handler=_import)

    cust = commands.add_parser(
        "customers", parents=[common], help="balances and overdue per customer"
    )
    cust.add_argument("--as-of", type=_date)
    cust.set_defaults(handler=_customers)

    find = commands.add_parser("search", parents=[common], help="search open items")
    find.add_argument("--customer", action="append", default=[])
    find.add_argument("--min-days-late", type=int)
    find.add_argument("--max-days-late", type=int)
    find.add_argument("--min-amount", help="lowest open amount, e.g. 500 or 1234,56")
    find.add_argument("--max-amount", help="highest open amount")
    find.add_argument("--doc-type", action="append", default=[])
    find.add_argument("--status", action="append", default=[])
    find.add_argument("--currency", action="append", default=[])
    find.add_argument("--text")
    find.add_argument("--where", help="a DuckDB condition over the items' columns")
    find.add_argument("--as-of", type=_date)
    find.add_argument("--limit", type=int, default=search.DEFAULT_LIMIT)
    find.add_argument("--format", default="table", choices=["table", "csv", "json"])
    find.set_defaults(handler=_search)
    return parser


def _date(text: str) -> dt.date:
    try:
        return clock.parse_iso(text)
    except DunningError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def _open(args, create: bool = True) -> Any:
    """The workspace; commands that only read refuse to create a missing one."""
    return store.connect(args.db, create=create)


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return money.as_text(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _demo(args) -> int:
    from dunning import demo

    con = _open(args)
    counts = demo.build(con, args.as_of)
    if args.json:
        _print_json(counts)
    else:
        print(
            f"Demo workspace ready: {counts['customers']} customers, "
            f"{counts['items']} items."
        )
    return 0


def _import(args) -> int:
    con = _open(args)
    options = importing.Options(
        kind=args.kind,
        fmt=args.fmt,
        mapping=args.mapping,
        date_order=args.date_order,
        payment_terms_days=args.payment_terms_days,
        mode=args.mode,
        as_of=args.as_of,
        force=args.force,
        encoding=args.encoding,
        load_valid_rows=not args.strict,
        save_mapping_as=args.save_mapping,
    )
    report = importing.import_file(con, args.file, options)
    if args.json:
        _print_json(report.as_json())
    else:
        _print_import(report)
    if not report.committed:
        print(
            f"error: {report.rows_rejected} row(s) rejected and --strict given; "
            "nothing was imported.",
            file=sys.stderr,
        )
        return 1
    return 0


def _print_import(report: importing.Report) -> None:
    print(
        f"{report.file_name}: {report.kind}, {report.rows_read} rows read, "
        f"{report.rows_loaded} loaded, {report.rows_rejected} rejected."
    )
    for label, problems in (("rejected", report.errors), ("note", report.warnings)):
        for problem in problems:
            where = f"line {problem['line']}" if problem["line"] else "file"
            column = f", column {problem['column']}" if problem["column"] else ""
            print(f"  {label}: {where}{column}: {problem['message']}")


def _customers(args) -> int:
    con = _open(args, create=False)
    rows = aging.customers(con, clock.as_of_or_today(args.as_of))
    if args.json:
        _print_json({"customers": [_customer_json(row) for row in rows]})
        return 0
    print(f"{'customer':<14} {'name':<32} {'balance':>18} {'overdue':>18}  oldest due")
    for row in rows:
        balance = ", ".join(f"{v:,.2f} {c}" for c, v in row["balance"].items())
        overdue = ", ".join(f"{v:,.2f} {c}" for c, v in row["overdue"].items()) or "-"
        oldest = row["oldest_due_date"].isoformat() if row["oldest_due_date"] else "-"
        name = (row["name"] or "")[:32]
        print(
            f"{row['customer_number']:<14} {name:<32} {balance:>18} {overdue:>18}  "
            f"{oldest}"
        )
    return 0


def _customer_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "customer_number": row["customer_number"],
        "name": row["name"],
        "balance": money.totals_as_text(row["balance"]),
        "overdue": money.totals_as_text(row["overdue"]),
        "oldest_due_date": row["oldest_due_date"],
        "items_open": row["items_open"],
        "items_overdue": row["items_overdue"],
    }


ITEM_FIELDS = [
    "customer_number",
    "doc_number",
    "doc_type",
    "issue_date",
    "due_date",
    "days_late",
    "amount",
    "open_amount",
    "currency",
    "status",
]


def _search(args) -> int:
    con = _open(args, create=False)
    filters = search.Filters(
        customer=args.customer,
        min_days_late=args.min_days_late,
        max_days_late=args.max_days_late,
        min_amount=args.min_amount,
        max_amount=args.max_amount,
        doc_type=args.doc_type,
        status=args.status,
        currency=args.currency,
        text=args.text,
        where=args.where,
    )
    found = search.run(con, filters, clock.as_of_or_today(args.as_of), limit=args.limit)
    items = [{key: row[key] for key in ITEM_FIELDS} for row in found.rows]
    fmt = "json" if args.json else args.format
    if fmt == "json":
        _print_json(
            {
                "count": found.count,
                "totals": money.totals_as_text(found.totals),
                "items": items,
            }
        )
    elif fmt == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=ITEM_FIELDS)
        writer.writeheader()
        for item in items:
            writer.writerow({k: _json_default_or(v) for k, v in item.items()})
    else:
        _print_items(found, items)
    return 0


def _json_default_or(value: Any) -> Any:
    if isinstance(value, Decimal | dt.date):
        return _json_default(value)
    return value


def _print_items(found: search.Result, items: list[dict[str, Any]]) -> None:
    totals = ", ".join(f"{v:,.2f} {c}" for c, v in found.totals.items()) or "0"
    print(f"{found.count} item(s); open amount {totals}")
    for item in items:
        due = item["due_date"].isoformat() if item["due_date"] else "unknown"
        days = "" if item["days_late"] is None else item["days_late"]
        print(
            f"{item['customer_number']:<12} {item['doc_number']:<16} "
            f"{item['doc_type']:<12} due {due:<10} {days!s:>5} d "
            f"{item['open_amount']:>14,.2f} {item['currency']} {item['status']}"
        )

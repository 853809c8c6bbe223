"""The command line: `python -m dunning COMMAND` (DESIGN 13)."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import logging
import os
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from dunning import aging, clock, importing, money, search, store
from dunning.errors import DunningError, InvalidValue

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
        code = args.handler(args)
        sys.stdout.flush()  # a reader gone shows here when the output fit the buffer
    except BrokenPipeError:
        _discard_stdout()
        code = getattr(args, "exit_code", 0)
    except DunningError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; nothing was changed.", file=sys.stderr)
        return 130
    return code


def _discard_stdout() -> None:
    """Send what is left of stdout to devnull once its reader has closed the pipe.

    `... --json | head` closes the pipe on purpose after the lines it wanted; the
    command has done its work (an import has committed by the time its report is
    printed), and a non-zero exit code here means "error, nothing changed"
    (DESIGN 13), so this is no failure: the command keeps its own exit code, the
    one it returned or set as `args.exit_code` before writing, else 0. Without the
    redirection, Python's last flush at exit would fail again with a traceback.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _common_options(shared: bool) -> argparse.ArgumentParser:
    """Options every command takes, before or after the command's name.

    The top-level parser gives the defaults; a subcommand's parser leaves an option
    it was not given unset (SUPPRESS), so `--db X search` keeps X, and when both
    places name it the later one, after the command, wins.
    """
    default = {} if shared else {"default": argparse.SUPPRESS}
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db",
        type=Path,
        help="workspace file (default: $DUNNING_DB or data/)",
        **default,
    )
    common.add_argument(
        "--json", action="store_true", help="print JSON on stdout", **default
    )
    common.add_argument(
        "--debug", action="store_true", help="log debug messages", **default
    )
    return common


def _parser() -> argparse.ArgumentParser:
    common = _common_options(shared=False)
    parser = argparse.ArgumentParser(
        prog="python -m dunning",
        description="Accounts-receivable dunning workspace.",
        parents=[_common_options(shared=True)],
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
    _add_penalties_parser(commands, common)
    _add_preview_parser(commands, common)
    _add_action_parsers(commands, common)
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


def _doc_numbers(values: list[str]) -> list[str]:
    """--items as given: numbers separated by commas, spaces, or both."""
    return [doc.strip() for part in values for doc in part.split(",") if doc.strip()]


def _body_file(path: Path) -> str:
    """A body written in a file (UTF-8, a BOM allowed), or one clear sentence."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidValue(
            f"The body file {path} cannot be read as UTF-8 text "
            f"({error.__class__.__name__})."
        ) from error


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
    # The outcome is told first, so that it stands even when the report is cut.
    args.exit_code = 0 if report.committed else 1
    if not report.committed:
        print(
            f"error: {report.rows_rejected} row(s) rejected and --strict given; "
            "nothing was imported.",
            file=sys.stderr,
        )
    if args.json:
        _print_json(report.as_json())
    else:
        _print_import(report)
    return args.exit_code


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


def _add_preview_parser(commands, common) -> None:
    view = commands.add_parser(
        "preview", parents=[common], help="render a template for a customer's items"
    )
    view.add_argument("--customer", required=True, help="the customer number")
    view.add_argument(
        "--items",
        nargs="+",
        action="extend",
        required=True,
        metavar="DOC,DOC",
        help="document numbers of that customer",
    )
    source = view.add_mutually_exclusive_group(required=True)
    source.add_argument("--template", help="a predefined or saved template name")
    source.add_argument("--body-file", type=Path, help="a text file holding the body")
    view.add_argument("--subject", help="the subject (replaces the template's)")
    view.add_argument("--as-of", type=_date)
    view.add_argument(
        "--format",
        dest="fmt",
        default="text",
        choices=["text", "html", "pdf", "eml"],
        help="pdf: the letter; eml: the email to the default recipient (--out FILE)",
    )
    view.add_argument("--out", type=Path, help="write the output to FILE")
    view.add_argument(
        "--include-disputed",
        action="store_true",
        help="charge disputed and litigation items too",
    )
    view.set_defaults(handler=_preview)


def _preview(args) -> int:
    """The rendered body (the subject first with --subject); problems that block
    the reminder go to stderr and give exit code 1, the rendering still shown."""
    from dunning import templates

    body = None if args.body_file is None else _body_file(args.body_file)
    con = _open(args, create=False)
    shown = templates.preview(
        con,
        args.customer,
        args.items,
        template=args.template,
        body=body,
        subject=args.subject,
        as_of=args.as_of,
        include_disputed=args.include_disputed,
    )
    if args.fmt in ("pdf", "eml"):
        return _preview_file(con, args, shown)
    rendered = shown.html if args.fmt == "html" else shown.text
    if args.json:
        output = json.dumps(
            {
                "subject": shown.subject,
                "body": rendered,
                "warnings": [*shown.blocking, *shown.warnings],
                "blocking": list(shown.blocking),
            },
            ensure_ascii=False,
            indent=2,
        )
    else:
        head = f"{shown.subject}\n" if args.subject is not None else ""
        output = head + rendered.rstrip("\n")
    if args.out:
        args.out.write_text(output + "\n", encoding="utf-8")
    else:
        print(output)
    for problem in shown.blocking:
        print(f"problem: {problem}", file=sys.stderr)
    if not args.json:
        for warning in shown.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    return 1 if shown.blocking else 0


def _add_penalties_parser(commands, common) -> None:
    pen = commands.add_parser(
        "penalties", parents=[common], help="late-payment penalties on items"
    )
    pen.add_argument("--customer", required=True, help="the customer number")
    pen.add_argument(
        "--items",
        nargs="+",
        action="extend",
        metavar="DOC,DOC",
        help="document numbers of that customer (default: every open item)",
    )
    pen.add_argument("--as-of", type=_date)
    pen.add_argument(
        "--include-disputed",
        action="store_true",
        help="charge disputed and litigation items too",
    )
    pen.set_defaults(handler=_penalties)


def _penalties(args) -> int:
    """Penalties per item and per currency (DESIGN 7); an unknown document: exit 1."""
    from dunning import penalties, workspace
    from dunning.errors import NotFound

    con = _open(args, create=False)
    docs = None if args.items is None else _doc_numbers(args.items)
    try:
        assessment = workspace.Workspace(con, args.db).penalties(
            args.customer, docs, args.as_of, args.include_disputed
        )
    except NotFound as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.json:
        _print_json(penalties.as_json(assessment))
    else:
        _print_penalties(assessment)
    return 0


def _print_penalties(assessment) -> None:
    print(
        f"Customer {assessment.customer_number}, rule {assessment.rule} "
        f"({assessment.rate_note}), as of {assessment.as_of.isoformat()}"
    )
    print(
        f"{'document':<16} {'type':<12} {'due':<10} {'days':>5} {'open amount':>18} "
        f"{'interest':>12} {'indemnity':>14}"
    )
    for item in assessment.items:
        due = item.due_date.isoformat() if item.due_date else "-"
        days = "" if item.days_late is None else item.days_late
        indemnity = f"{item.indemnity:,.2f} {item.indemnity_currency or ''}".strip()
        print(
            f"{item.doc_number:<16} {item.doc_type:<12} {due:<10} {days!s:>5} "
            f"{item.open_amount:>14,.2f} {item.currency} {item.interest:>12,.2f} "
            f"{indemnity:>14}"
        )
        for p in item.periods:
            print(
                f"    {p.start.isoformat()} to {p.end.isoformat()}: {p.days} d on "
                f"{p.base:,.2f} at {p.rate} % = {p.interest:,.2f}"
            )
        if item.note:
            print(f"    ({item.note})")
    for currency, t in assessment.totals.items():
        print(
            f"Total {currency}: selected {t.amount_selected:,.2f}, interest "
            f"{t.interest:,.2f}, indemnity {t.indemnity:,.2f}, penalties "
            f"{t.penalties:,.2f}, including penalties "
            f"{t.amount_including_penalties:,.2f}"
        )
    for warning in assessment.warnings:
        print(f"warning: {warning}")


# ---------------------------------------------------------------------------
# Actions: action create|list|show|carry-out|cancel|reschedule|retry, run-due


def _add_action_parsers(commands, common) -> None:
    from dunning import actions

    act = commands.add_parser(
        "action", parents=[common], help="create, list, show and change actions"
    )
    act.set_defaults(handler=lambda _args: _usage(act))
    sub = act.add_subparsers(metavar="SUBCOMMAND")

    create = sub.add_parser("create", parents=[common], help="validate an action")
    create.add_argument("--customer", required=True, help="the customer number")
    create.add_argument(
        "--items", nargs="+", action="extend", required=True, metavar="DOC,DOC"
    )
    create.add_argument("--type", required=True, choices=actions.TYPES)
    source = create.add_mutually_exclusive_group(required=True)
    source.add_argument("--template", help="a predefined or saved template name")
    source.add_argument("--body-file", type=Path, help="a UTF-8 text file")
    create.add_argument("--subject", help="the subject (default: the template's)")
    create.add_argument("--date", type=_date, help="planned date (default: today)")
    create.add_argument("--mode", default="confirm", choices=actions.MODES)
    create.add_argument("--as-of", type=_date)
    create.add_argument(
        "--to", action="append", help="recipient 'Name <address>' (repeatable)"
    )
    create.add_argument("--cc", action="append", help="copy 'Name <address>'")
    create.add_argument("--attach-statement", action="store_true")
    create.add_argument("--include-disputed", action="store_true")
    create.set_defaults(handler=_action_create)

    listed = sub.add_parser("list", parents=[common], help="list actions")
    listed.add_argument("--customer")
    listed.add_argument("--status", choices=actions.STATUSES)
    listed.add_argument("--type", choices=actions.TYPES)
    listed.set_defaults(handler=_action_list)

    show = sub.add_parser("show", parents=[common], help="an action, then and now")
    show.add_argument("action_id", type=int)
    show.add_argument("--as-of", type=_date, help="'now' is this date (default today)")
    show.set_defaults(handler=_action_show)

    run = sub.add_parser("carry-out", parents=[common], help="carry out one action")
    run.add_argument("action_id", type=int)
    run.add_argument("--out", type=Path, help="export folder")
    run.set_defaults(handler=_action_carry_out)

    stop = sub.add_parser("cancel", parents=[common], help="cancel an action")
    stop.add_argument("action_id", type=int)
    stop.add_argument("--reason", required=True)
    stop.set_defaults(handler=_action_cancel)

    move = sub.add_parser("reschedule", parents=[common], help="change its date")
    move.add_argument("action_id", type=int)
    move.add_argument("--date", type=_date, required=True)
    move.add_argument("--mode", choices=actions.MODES)
    move.set_defaults(handler=_action_reschedule)

    again = sub.add_parser("retry", parents=[common], help="plan a failed action again")
    again.add_argument("action_id", type=int)
    again.add_argument("--date", type=_date)
    again.set_defaults(handler=_action_retry)

    due = commands.add_parser(
        "run-due", parents=[common], help="carry out automatic actions now due"
    )
    due.add_argument("--date", type=_date, help="run date (default: today)")
    due.add_argument(
        "--dry-run",
        action="store_true",
        help="write the files (.eml, never sent) and change nothing",
    )
    due.add_argument("--out", type=Path, help="export folder")
    due.set_defaults(handler=_run_due)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _out_dir(args) -> Path:
    """The export folder: --out, else `exports/` beside the workspace file."""
    if args.out:
        return args.out
    return (args.db or store.default_path()).resolve().parent / "exports"


def _action_create(args) -> int:
    from dunning import actions, penalties, templates

    con = _open(args, create=False)
    if args.template:
        template = templates.get(con, args.template)
        subject, body = template.subject, template.body
    else:
        body = _body_file(args.body_file)
        subject = ""
    docs = _doc_numbers(args.items)
    recipients = None
    if args.to or args.cc:
        recipients = {"to": "\n".join(args.to or []), "cc": "\n".join(args.cc or [])}
    validated = actions.validate(
        con,
        args.customer,
        penalties.item_ids(con, args.customer, docs),
        args.type,
        args.subject if args.subject is not None else subject,
        body,
        planned_for=args.date,
        mode=args.mode,
        as_of=args.as_of,
        template=args.template,
        recipients=recipients,
        include_disputed=args.include_disputed,
        attach_statement=args.attach_statement,
    )
    action_id = validated.action_id
    status = actions.get(con, action_id)["status"]
    for warning in validated.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.json:
        _print_json({"action_id": action_id, "status": status})
    else:
        print(f"Action {action_id} created: {status}.")
    return 0


def _action_list(args) -> int:
    from dunning import actions

    con = _open(args, create=False)
    rows = actions.listing(
        con, customer=args.customer, status=args.status, type=args.type
    )
    if args.json:
        _print_json({"actions": [_action_row_json(row) for row in rows]})
        return 0
    for row in rows:
        totals = "at validation " + _amounts_text(row["totals"])
        if row["totals_claimed"] is not None:
            totals += "; claimed when carried out "
            totals += _amounts_text(row["totals_claimed"])
        print(
            f"{row['action_id']:>6} {row['customer_number']:<12} {row['type']:<14} "
            f"{row['status']:<10} {row['planned_for'].isoformat()} {totals}"
        )
    return 0


def _amounts_text(totals: dict[str, dict[str, Decimal]]) -> str:
    """An action's amounts selected, one per currency: '1,600.24 EUR'."""
    return ", ".join(f"{t['amount_selected']:,.2f} {c}" for c, t in totals.items())


def _action_row_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "action_id": row["action_id"],
        "customer_number": row["customer_number"],
        "type": row["type"],
        "status": row["status"],
        "mode": row["mode"],
        "planned_for": row["planned_for"],
        "executed_at": row["executed_at"],
        "subject": row["rendered_subject"],
        "totals": _totals_json(row["totals"]),
        "totals_claimed": _claimed_json(row["totals_claimed"]),
    }


def _claimed_json(totals: dict[str, dict[str, Decimal]] | None) -> dict | None:
    """The totals claimed when carried out; None until then."""
    return None if totals is None else _totals_json(totals)


def _totals_json(totals: dict[str, dict[str, Decimal]]) -> dict[str, Any]:
    return {
        currency: {key: money.as_text(value) for key, value in values.items()}
        for currency, values in totals.items()
    }


def _action_show(args) -> int:
    from dunning import actions

    con = _open(args, create=False)
    as_of = args.as_of or clock.today()
    action = actions.show(con, args.action_id, as_of)
    data = {
        "action_id": action["action_id"],
        "status": action["status"],
        "type": action["type"],
        "customer_number": action["customer_number"],
        "planned_for": action["planned_for"],
        "executed_at": action["executed_at"],
        "totals": _totals_json(action["totals"]),  # at validation, never changed
        "totals_claimed": _claimed_json(action["totals_claimed"]),
        "items": [_action_item_json(item) for item in action["items"]],
    }
    if args.json:
        _print_json(data)
        return 0
    print(
        f"Action {data['action_id']} ({data['type']}) for {data['customer_number']}: "
        f"{data['status']}, planned for {data['planned_for'].isoformat()}"
    )
    for label, totals in (
        ("Totals at validation", action["totals"]),
        ("Claimed when carried out", action["totals_claimed"]),
    ):
        for currency, t in (totals or {}).items():
            print(
                f"  {label} ({currency}): {t['amount_selected']:,.2f} + penalties "
                f"{t['penalties']:,.2f} = {t['amount_including_penalties']:,.2f}"
            )
    print(f"  Items: at validation / claimed when carried out / open at {as_of}")
    for item in action["items"]:
        dropped = f"; dropped: {item['dropped_reason']}" if item["dropped_at"] else ""
        claimed = item["open_amount_claimed"]
        print(
            f"  {item['doc_number']:<16} {item['open_amount_at_action']:>12,.2f} "
            f"(penalty {item['penalty_at_action']:,.2f}) / "
            + (
                f"{claimed:>12,.2f} (penalty {item['penalty_claimed']:,.2f})"
                if claimed is not None
                else f"{'-':>12}"
            )
            + f" / {item['open_amount_now']:>12,.2f} {item['currency']} "
            f"{actions.status_now_label(item)}{dropped}"
        )
    for event in action["events"]:
        detail = f": {event['detail']}" if event["detail"] else ""
        print(f"  {event['happened_at']:%Y-%m-%d %H:%M} {event['event']}{detail}")
    return 0


def _action_item_json(item: dict[str, Any]) -> dict[str, Any]:
    """One item of `action show --json`: at validation (DESIGN 13's keys), as
    claimed when carried out (null until then), and at the as-of date."""
    from dunning import actions

    return {
        "doc_number": item["doc_number"],
        "open_amount_at_action": item["open_amount_at_action"],
        "penalty_at_action": item["penalty_at_action"],
        "open_amount_now": item["open_amount_now"],
        "days_late_at_action": item["days_late_at_action"],
        "interest_at_action": item["interest_at_action"],
        "indemnity_at_action": item["indemnity_at_action"],
        "open_amount_claimed": item["open_amount_claimed"],
        "days_late_claimed": item["days_late_claimed"],
        "interest_claimed": item["interest_claimed"],
        "indemnity_claimed": item["indemnity_claimed"],
        "penalty_claimed": item["penalty_claimed"],
        "status_now": actions.status_now(item),
        "dropped_reason": item["dropped_reason"],
    }


def _action_carry_out(args) -> int:
    from dunning import actions

    con = _open(args, create=False)
    outcome = actions.carry_out(con, args.action_id, _out_dir(args))
    if args.json:
        _print_json(
            {
                "action_id": outcome.action_id,
                "status": outcome.status,
                "carried_out": outcome.carried_out,
                "file": str(outcome.output) if outcome.output else None,
                "dropped": list(outcome.dropped),
                "reason": outcome.reason,
                "error": outcome.error,
            }
        )
    else:
        print(outcome.error or outcome.reason or f"Action {outcome.action_id} done.")
    if outcome.status == "failed":
        print(
            f"error: action {outcome.action_id} failed: {outcome.error}",
            file=sys.stderr,
        )
        return 1
    return 0


def _action_cancel(args) -> int:
    from dunning import actions

    con = _open(args, create=False)
    actions.cancel(con, args.action_id, args.reason)
    return _print_status(args, con, actions)


def _action_reschedule(args) -> int:
    from dunning import actions

    con = _open(args, create=False)
    actions.reschedule(con, args.action_id, args.date, mode=args.mode)
    return _print_status(args, con, actions)


def _action_retry(args) -> int:
    from dunning import actions

    con = _open(args, create=False)
    actions.retry(con, args.action_id, args.date)
    return _print_status(args, con, actions)


def _print_status(args, con, actions) -> int:
    action = actions.get(con, args.action_id)
    if args.json:
        _print_json(
            {
                "action_id": action["action_id"],
                "status": action["status"],
                "planned_for": action["planned_for"],
            }
        )
    else:
        print(
            f"Action {action['action_id']}: {action['status']}, planned for "
            f"{action['planned_for'].isoformat()}."
        )
    return 0


def _run_due(args) -> int:
    from dunning import actions

    con = _open(args, create=False)
    report = actions.run_due(con, args.date, _out_dir(args), dry_run=args.dry_run)
    if args.json:
        _print_json(report.as_json())
        return 0
    verb = "would be carried out" if args.dry_run else "carried out"
    print(f"{len(report.carried_out)} action(s) {verb}: {report.carried_out}")
    if report.sent:
        print(f"  {len(report.sent)} email(s) sent by SMTP: {report.sent}")
    for action_id, reason in report.cancelled:
        print(f"  action {action_id} cancelled: {reason}")
    for action_id, error in report.failed:
        print(f"  action {action_id} failed: {error}")
    for path in report.outputs:
        print(f"  {path}")
    return 0


def _preview_file(con, args, shown) -> int:
    """`preview --format pdf|eml --out FILE`: the letter's PDF, or the .eml of the
    email to the customer's default recipient; nothing is written while a problem
    blocks the reminder."""
    from dunning import letters, sending

    if args.out is None:
        raise InvalidValue(f"--format {args.fmt} writes a file: give --out FILE.")
    for problem in shown.blocking:
        print(f"problem: {problem}", file=sys.stderr)
    if shown.blocking:
        return 1
    if args.fmt == "pdf":
        html = letters.from_preview(con, args.customer, "letter", clock.today(), shown)
        args.out.write_bytes(letters.pdf(html))
    else:
        chosen = sending.recipients(con, args.customer)
        if not chosen.sendable:
            raise InvalidValue(chosen.disabled_reason or "No recipient.")
        message = sending.build_message(
            sender=sending.sender(con),
            to=chosen.to,
            subject=shown.subject,
            text=shown.text,
            html=shown.html,
        )
        args.out.write_bytes(message.as_bytes())
    if args.json:
        _print_json({"subject": shown.subject, "file": str(args.out)})
    return 0

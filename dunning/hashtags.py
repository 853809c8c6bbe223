"""Hashtags: the catalogue of DESIGN 8, their values for one customer, and scanning.

A template names a value with `#name`. The name is read whole: the longest run of
letters, digits and underscores after `#` is the name, so
`#items_amount_selected_late_penalties` is never `#items_amount_selected` followed by
text, and `#customer_name,` is the hashtag followed by a comma.

Where a hashtag starts. In the text of a template, `#` starts a hashtag only at the
very beginning, after whitespace (a line break included), or after an opening
mark: `(`, `[`, `{`, `<`, `>` (the end of a tag, `<b>#customer_name</b>`), a
straight or curly quote (`"`, `'`, `“`, `‘`, `„`, `«`) or `:`. Glued to anything else
(a letter, a digit, `_`, `/`, `?`, `=`, `.`, `&`, `-`, `#` ...) it belongs to a word,
a URL or an entity and starts none: `page#top`, `a#b_c.fr`, `http://x/#anchor_name`,
`?tab=#x_y`, `&#39;`. So write `#customer_number / #customer_name`, with spaces,
rather than `#customer_number/#customer_name`. Inside Jinja code (`{% %}`, `{{ }}`),
where `#` can mean nothing else, a hashtag starts wherever `#` is not glued to a
letter, digit, `_` or `&`, so `{{ #items_count_selected+1 }}` reads it. Jinja
comments and raw blocks hold no hashtag. A `#` followed by an unknown name is left
as it is (`#3`, `#fff`), except that an unknown name containing an underscore is
reported, with the nearest known names, and blocks validation.

Values are computed for a customer, a selection of items and an as-of date: the
selection hashtags from `penalties.assess` on the selected items, the account-wide
ones from `penalties.assess` on every open item of the customer. `compute` runs the
queries and hands what they load to `compute_from`, which a campaign calls with
values loaded in bulk for many customers. Amounts and dates are
written in the customer's language through `dunning.formatting` (Babel), with plain
spaces where Babel puts no-break ones, so that a letter reads `1 071,55 €` in every
mail client and terminal, as the acceptance cases print it. Amounts are totals per
currency: a selection in two currencies reads `1 000,00 € ; 250,00 $US` (`fr`) or
`€1,000.00; US$250.00` (`en`) and carries a warning, never a sum across currencies.
Lists (statements of items), addresses and the logo have a text form and an HTML form
(a `Block`); the renderer picks the one its output needs.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

import duckdb
from babel import numbers as babel_numbers
from markupsafe import Markup, escape

from dunning import clock, customers, formatting, money, penalties, rates, settings


@dataclass(frozen=True)
class Hashtag:
    """One entry of the palette: its name, what it gives, and its group."""

    name: str
    description: str
    group: str


def _catalogue(*entries: tuple[str, str, str]) -> dict[str, Hashtag]:
    return {name: Hashtag(name, text, group) for group, name, text in entries}


SELECTION = "Selected items"
ACCOUNT = "Whole account"
CUSTOMER = "Customer and dates"
COMPANY = "Company and sender"

CATALOGUE: dict[str, Hashtag] = _catalogue(
    (
        SELECTION,
        "items_amount_selected",
        "Sum of the open amounts of the selected "
        "items; credit notes and payments reduce it.",
    ),
    (
        SELECTION,
        "items_amount_selected_late_penalties",
        "Late-payment interest plus "
        "fixed indemnities on the selected items (0 when penalties are off).",
    ),
    (
        SELECTION,
        "items_amount_selected_include_late_penalties",
        "The selected amount and its late penalties added: what the reminder claims.",
    ),
    (
        SELECTION,
        "items_list_selected",
        "Statement of the selected items: document, "
        "type, dates, days late, amounts, penalty, with a totals row per currency.",
    ),
    (SELECTION, "items_count_selected", "Number of selected items."),
    (SELECTION, "items_oldest_due_date", "Oldest due date among the selected items."),
    (SELECTION, "items_max_days_late", "Most days late among the selected items."),
    (ACCOUNT, "items_list", "Statement of every open item of the account."),
    (ACCOUNT, "items_list_overdue", "Statement of the account's overdue items."),
    (ACCOUNT, "items_list_not_due", "Statement of the account's items not yet due."),
    (
        ACCOUNT,
        "items_amount_overdue",
        "Sum of the open amounts of the overdue items of the account.",
    ),
    (
        ACCOUNT,
        "items_amount_late_penalties",
        "Late-payment interest plus fixed "
        "indemnities on every open item of the account.",
    ),
    (
        ACCOUNT,
        "items_amount_overdue_include_late_penalties",
        "The overdue amount of the account and its late penalties added.",
    ),
    (
        ACCOUNT,
        "account_balance",
        "Balance of the account: every open item, credit notes and payments netted.",
    ),
    (CUSTOMER, "customer_name", "The customer's name."),
    (CUSTOMER, "customer_number", "The customer's number."),
    (
        CUSTOMER,
        "contact_name",
        "The recipient: the dunning contact, else the "
        "billing contact, else any contact with an email.",
    ),
    (CUSTOMER, "customer_address", "The customer's postal address, on several lines."),
    (
        CUSTOMER,
        "penalty_rate",
        "Annual late-payment interest rate(s) of the selected items "
        "(e.g. 12,15 %, or 13,15 % puis 12,15 %).",
    ),
    (CUSTOMER, "as_of_date", "The as-of date the figures are computed at."),
    (CUSTOMER, "today", "Today's date."),
    (
        CUSTOMER,
        "action_date",
        "The date of the action (its planned date; the as-of date when none is given).",
    ),
    (COMPANY, "company_name", "Your company's name (settings)."),
    (COMPANY, "company_address", "Your company's postal address (settings)."),
    (COMPANY, "company_iban", "The IBAN payments go to (settings)."),
    (
        COMPANY,
        "company_logo",
        "Your logo (HTML and letters only; nothing in plain text).",
    ),
    (COMPANY, "sender_name", "Who signs the reminder (settings)."),
    (COMPANY, "sender_email", "The sender's email address (settings)."),
    (COMPANY, "sender_phone", "The sender's phone number (settings)."),
)

NAMES = tuple(CATALOGUE)
LISTS = (
    "items_list_selected",
    "items_list",
    "items_list_overdue",
    "items_list_not_due",
)
# Hashtags whose value is an amount per currency.
AMOUNTS = (
    "items_amount_selected",
    "items_amount_selected_late_penalties",
    "items_amount_selected_include_late_penalties",
    "items_amount_overdue",
    "items_amount_late_penalties",
    "items_amount_overdue_include_late_penalties",
    "account_balance",
)
# Settings behind the company hashtags (the logo is optional, never warned about).
SETTING_OF = {
    "company_name": "company.name",
    "company_address": "company.address",
    "company_iban": "company.iban",
    "sender_name": "sender.name",
    "sender_email": "sender.email",
    "sender_phone": "sender.phone",
}

# The warning an unset company or sender setting gives (merged into one sentence).
EMPTY_SETTING = "empty setting"

# Variables a template may loop over with Jinja: the rows behind each list hashtag.
ROWS = {
    "items_selected": "items_list_selected",
    "items_open": "items_list",
    "items_overdue": "items_list_overdue",
    "items_not_due": "items_list_not_due",
}

# `#name` in text: at the start, after whitespace or an opening mark (see the module
# docstring); the name runs as far as it goes.
HASHTAG = re.compile(r"(?<![^\s(\[{<>\"'“‘„«:])#([A-Za-z_][A-Za-z0-9_]*)")
# `#name` inside Jinja code: anywhere but glued to a word or an entity.
CODE_HASHTAG = re.compile(r"(?<![\w&])#([A-Za-z_][A-Za-z0-9_]*)")
# Jinja's regions: raw blocks, comments, statements, expressions (default syntax).
JINJA_REGION = re.compile(
    r"(?P<raw>\{%-?\s*raw\s*-?%\}.*?\{%-?\s*endraw\s*-?%\})"
    r"|(?P<comment>\{#.*?#\})"
    r"|(?P<code>\{%.*?%\}|\{\{.*?\}\})",
    re.DOTALL,
)


@dataclass(frozen=True)
class Block:
    """A value with a text form and an HTML form (already escaped markup).

    `table` marks a statement: in HTML it stands as its own block, outside any
    paragraph.
    """

    text: str
    html: str
    table: bool = False

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Unknown:
    """An unknown `#snake_case` name in a template, where it is, what was meant."""

    name: str
    line: int
    suggestions: tuple[str, ...]

    def message(self, where: str = "") -> str:
        place = f"{where} line {self.line}" if where else f"line {self.line}"
        hint = (
            " Did you mean " + " or ".join(f"#{s}" for s in self.suggestions) + "?"
            if self.suggestions
            else " See the hashtag palette for the known names."
        )
        return f"Unknown hashtag #{self.name} ({place}).{hint}"


# ---------------------------------------------------------------------------
# Scanning


def _regions(source: str) -> Iterable[tuple[str, int, int]]:
    """The source cut into ('text' | 'code' | 'raw' | 'comment', start, end)."""
    position = 0
    for match in JINJA_REGION.finditer(source):
        if match.start() > position:
            yield "text", position, match.start()
        yield match.lastgroup or "text", match.start(), match.end()
        position = match.end()
    if position < len(source):
        yield "text", position, len(source)


def _hashtags(source: str) -> Iterable[tuple[str, re.Match]]:
    """Every `#name` of a template with its region's kind ('text' or 'code').

    Each region is read by its own rule, matched on the whole source (not on each
    piece), so the character before a region's first `#` is the one really before.
    """
    for kind, start, end in _regions(source):
        if kind in ("text", "code"):
            pattern = HASHTAG if kind == "text" else CODE_HASHTAG
            for match in pattern.finditer(source, start, end):
                yield kind, match


def used(source: str) -> tuple[str, ...]:
    """The known hashtags a template uses, in order of first use."""
    found = {m.group(1): None for _, m in _hashtags(source) if m.group(1) in CATALOGUE}
    return tuple(found)


def unknown(source: str) -> tuple[Unknown, ...]:
    """The `#snake_case` names that are not hashtags, with line and suggestions."""
    found = []
    for _, match in _hashtags(source):
        name = match.group(1)
        if name not in CATALOGUE and "_" in name:
            line = source.count("\n", 0, match.start()) + 1
            found.append(Unknown(name, line, suggest(name)))
    return tuple(found)


def suggest(name: str) -> tuple[str, ...]:
    """The known names nearest to a misspelt one."""
    return tuple(difflib.get_close_matches(name.lower(), NAMES, n=3, cutoff=0.6))


def to_jinja(source: str) -> str:
    """The template with each known hashtag turned into its Jinja variable.

    In text `#name` becomes `{{ name }}`; inside a Jinja statement or expression
    (`{% if #items_max_days_late > 60 %}`) it becomes the bare variable. Comments and
    raw blocks are left untouched. Line numbers do not change.
    """

    def text(match: re.Match) -> str:
        name = match.group(1)
        return "{{ " + name + " }}" if name in CATALOGUE else match.group(0)

    def code(match: re.Match) -> str:
        name = match.group(1)
        return name if name in CATALOGUE else match.group(0)

    parts, position = [], 0
    for kind, match in _hashtags(source):
        parts.append(source[position : match.start()])
        parts.append(code(match) if kind == "code" else text(match))
        position = match.end()
    parts.append(source[position:])
    return "".join(parts)


def replace(source: str, values: Mapping[str, Any], html: bool = False) -> str:
    """Hashtags replaced by their values in one pass, every other character kept.

    The fallback of a template that Jinja refuses: what the template says, with the
    numbers in. Inserted values are never scanned again. With `html` the literal
    text and the values are escaped (a Block gives its HTML form).
    """
    parts: list[str] = []
    position = 0
    for match in HASHTAG.finditer(source):
        name = match.group(1)
        if name not in CATALOGUE:
            continue
        literal = source[position : match.start()]
        parts.append(str(escape(literal)) if html else literal)
        parts.append(_inserted(values.get(name, ""), html))
        position = match.end()
    rest = source[position:]
    parts.append(str(escape(rest)) if html else rest)
    return "".join(parts)


def _inserted(value: Any, html: bool) -> str:
    if isinstance(value, Block):
        return value.html if html else value.text
    return str(escape(str(value))) if html else str(value)


# ---------------------------------------------------------------------------
# Values


@dataclass(frozen=True)
class Computed:
    """Every hashtag's value, the warnings each one brings, the Jinja rows."""

    values: dict[str, Any]
    warnings_by_name: dict[str, tuple[str, ...]]
    warnings: tuple[str, ...]  # about the figures whatever the template uses
    rows: dict[str, list[dict[str, Any]]]
    assessment: penalties.Assessment
    language: str

    def warnings_for(self, names: Iterable[str]) -> tuple[str, ...]:
        """The general warnings, then those of the hashtags a template uses."""
        found = dict.fromkeys(self.warnings)
        empty = []
        for name in names:
            for warning in self.warnings_by_name.get(name, ()):
                if warning == EMPTY_SETTING:
                    empty.append(name)
                else:
                    found[warning] = None
        if empty:
            found[_empty_settings_warning(empty)] = None
        return tuple(found)


def _empty_settings_warning(names: list[str]) -> str:
    """One sentence for every company or sender setting a template uses unset."""
    keys = ", ".join(SETTING_OF[name] for name in names)
    tags = ", ".join(f"#{name}" for name in names)
    if len(names) == 1:
        return (
            f"The setting {keys} is empty: {tags} prints nothing. Fill it in on the "
            "Settings page."
        )
    return (
        f"The settings {keys} are empty: {tags} print nothing. Fill them in on the "
        "Settings page."
    )


def values(
    con: duckdb.DuckDBPyConnection,
    customer_number: str,
    item_ids: Iterable[int],
    as_of: dt.date,
    action_date: dt.date | None = None,
    contact: str | Mapping[str, Any] | None = None,
    include_disputed: bool = False,
) -> tuple[dict[str, Any], list[str]]:
    """Every hashtag's value for a customer and a selection, and the warnings."""
    computed = compute(
        con, customer_number, item_ids, as_of, action_date, contact, include_disputed
    )
    return computed.values, list(computed.warnings_for(NAMES))


def compute(
    con: duckdb.DuckDBPyConnection,
    customer_number: str,
    item_ids: Iterable[int],
    as_of: dt.date,
    action_date: dt.date | None = None,
    contact: str | Mapping[str, Any] | None = None,
    include_disputed: bool = False,
) -> Computed:
    """Every hashtag's value with the warnings kept per hashtag."""
    record = customers.get(con, customer_number)
    selected = penalties.assess(
        con, customer_number, as_of, list(item_ids), include_disputed
    )
    account = penalties.assess(con, customer_number, as_of, None, include_disputed)
    given = isinstance(contact, Mapping) or bool(contact)
    contacts = () if given else customers.contacts(con, customer_number)
    chosen = recipient(customer_number, contact, contacts)
    return compute_from(
        record, selected, account, chosen, settings.company(con), as_of, action_date
    )


class Recipient(NamedTuple):
    """Who #contact_name names, and a note when it is a fallback or nobody."""

    name: str
    note: str | None = None


def compute_from(
    record: Mapping[str, Any],
    selected: penalties.Assessment,
    account: penalties.Assessment | None,
    contact: Recipient,
    company: settings.Company,
    as_of: dt.date,
    action_date: dt.date | None = None,
    names: Collection[str] | None = None,
) -> Computed:
    """Every hashtag's value from what is already loaded, without a query.

    `compute` runs its queries and calls this; a campaign loads every customer's
    record, assessments and contact in bulk and calls it once per customer. The
    selection's and the account's assessments come from `penalties` (`account`
    None: the selection stands for the account). `names`, the variables a template
    reads, leaves out what it does not read: a palette group none of whose hashtags
    is read holds "" and a row variable not read holds [], since writing the
    statements is most of the cost of a reminder. None computes everything.
    """
    language = (record.get("language") or "fr").lower()
    account = selected if account is None else account
    wanted = set(NAMES) | set(ROWS) if names is None else set(names)
    found: dict[str, Any] = dict.fromkeys(NAMES, "")
    warned: dict[str, list[str]] = {}

    # The selection, then the whole account, then who and when, then the company.
    if _reads_group(wanted, SELECTION):
        _selection_values(selected, language, found, warned)
    if _reads_group(wanted, ACCOUNT):
        _account_values(account, language, found, warned)
    _customer_values(record, contact, found, warned)
    if "penalty_rate" in wanted:
        found["penalty_rate"] = _penalty_rate(
            record, selected, account, as_of, language
        )
    found["as_of_date"] = formatting.date(as_of, language)
    found["today"] = formatting.date(clock.today(), language)
    found["action_date"] = formatting.date(action_date or as_of, language)
    _company_values(company, found, warned)

    # The rows a template loops over.
    rows = {
        variable: _rows(_list_items(name, selected, account), language)
        if variable in wanted
        else []
        for variable, name in ROWS.items()
    }
    return Computed(
        values=found,
        warnings_by_name={k: tuple(dict.fromkeys(v)) for k, v in warned.items()},
        warnings=tuple(dict.fromkeys(selected.warnings)),
        rows=rows,
        assessment=selected,
        language=language,
    )


def _reads_group(names: Collection[str], group: str) -> bool:
    """Whether any of these names is a hashtag of this palette group."""
    return any(n in CATALOGUE and CATALOGUE[n].group == group for n in names)


def _selection_values(
    selected: penalties.Assessment, language: str, found: dict, warned: dict
) -> None:
    """The hashtags of the selected items (DESIGN 8's four, count, oldest, latest)."""
    totals = selected.totals
    amounts = {
        "items_amount_selected": _pick(totals, "amount_selected"),
        "items_amount_selected_late_penalties": _pick(totals, "penalties"),
        "items_amount_selected_include_late_penalties": _pick(
            totals, "amount_including_penalties"
        ),
    }
    fallback = _main_currency(selected.items)
    for name, by_currency in amounts.items():
        found[name] = _amounts(by_currency, language, fallback)
        _warn_mixed(name, by_currency, warned)
    found["items_list_selected"] = statement(selected.items, language)
    found["items_count_selected"] = len(selected.items)
    due_dates = [item.due_date for item in selected.items if item.due_date]
    found["items_oldest_due_date"] = (
        formatting.date(min(due_dates), language) if due_dates else ""
    )
    late = [item.days_late for item in selected.items if item.days_late is not None]
    found["items_max_days_late"] = max(late, default=0)


def _account_values(
    account: penalties.Assessment, language: str, found: dict, warned: dict
) -> None:
    """The account-wide hashtags, on every open item of the customer."""
    items = account.items
    overdue = [item for item in items if _is_overdue(item)]
    balance = money.totals_by_currency((i.currency, i.open_amount) for i in items)
    owed_late = money.totals_by_currency((i.currency, i.open_amount) for i in overdue)
    late_penalties = _pick(account.totals, "penalties")
    amounts = {
        "items_amount_overdue": owed_late,
        "items_amount_late_penalties": late_penalties,
        "items_amount_overdue_include_late_penalties": money.totals_by_currency(
            [*owed_late.items(), *late_penalties.items()]
        ),
        "account_balance": balance,
    }
    fallback = _main_currency(items)
    for name, by_currency in amounts.items():
        found[name] = _amounts(by_currency, language, fallback)
        _warn_mixed(name, by_currency, warned)
    for name in ("items_list", "items_list_overdue", "items_list_not_due"):
        found[name] = statement(_list_items(name, account, account), language)


def _customer_values(
    record: Mapping[str, Any], contact: Recipient, found: dict, warned: dict
) -> None:
    """Who the customer is and who receives the reminder."""
    found["customer_name"] = record.get("name") or ""
    found["customer_number"] = record["customer_number"]
    found["customer_address"] = _address_block(_customer_address(record))
    if not found["customer_address"].text:
        warned["customer_address"] = [
            f"Customer {record['customer_number']} has no postal address: "
            "#customer_address prints nothing."
        ]
    found["contact_name"] = contact.name
    if contact.note:
        warned["contact_name"] = [contact.note]


def _company_values(company: settings.Company, found: dict, warned: dict) -> None:
    """The company and sender details from the workspace settings."""
    found["company_name"] = company.name
    found["company_address"] = _address_block(company.address)
    found["company_iban"] = company.iban
    found["company_logo"] = _logo_block(company.logo, company.name)
    found["sender_name"] = company.sender_name
    found["sender_email"] = company.sender_email
    found["sender_phone"] = company.sender_phone
    for name in SETTING_OF:
        if not str(found[name]):
            warned[name] = [EMPTY_SETTING]


# ---------------------------------------------------------------------------
# Amounts


def _pick(totals: Mapping[str, penalties.Totals], field: str) -> dict[str, Decimal]:
    return {currency: getattr(t, field) for currency, t in totals.items()}


def _amounts(by_currency: Mapping[str, Decimal], language: str, fallback: str) -> str:
    """Amounts per currency in words; zero ones dropped unless all are zero."""
    shown = {c: v for c, v in by_currency.items() if v != 0}
    if not shown:
        currency = fallback if fallback else next(iter(by_currency), "EUR")
        shown = {currency: money.ZERO}
    separator = " ; " if language == "fr" else "; "
    return separator.join(amount(v, c, language) for c, v in sorted(shown.items()))


def amount(value: Decimal, currency: str, language: str) -> str:
    """One amount as a letter prints it: Babel's, with plain spaces."""
    return plain(formatting.money(value, currency, language))


def plain(text: str) -> str:
    """Babel's no-break spaces (U+00A0, U+202F) as plain spaces."""
    return text.replace("\u202f", " ").replace("\xa0", " ")


def _warn_mixed(name: str, by_currency: Mapping[str, Decimal], warned: dict) -> None:
    shown = sorted(c for c, v in by_currency.items() if v != 0)
    if len(shown) > 1:
        warned.setdefault(name, []).append(
            f"#{name} covers several currencies ({', '.join(shown)}): it prints one "
            "amount per currency, never a sum across them."
        )


def _main_currency(items: Iterable[penalties.ItemPenalty]) -> str:
    for item in items:
        return item.currency
    return ""


def _is_overdue(item: penalties.ItemPenalty) -> bool:
    """Owed and past its due date at the as-of date (as ledger.overdue_sql)."""
    return item.open_amount > 0 and bool(item.days_late)


def _list_items(
    name: str, selected: penalties.Assessment, account: penalties.Assessment
) -> tuple[penalties.ItemPenalty, ...]:
    """The items a list hashtag states."""
    if name == "items_list_selected":
        return selected.items
    if name == "items_list_overdue":
        return tuple(i for i in account.items if _is_overdue(i))
    if name == "items_list_not_due":
        return tuple(
            i
            for i in account.items
            if i.open_amount > 0 and i.due_date is not None and i.days_late == 0
        )
    return account.items


def _penalty_rate(
    record: dict,
    selected: penalties.Assessment,
    account: penalties.Assessment,
    as_of: dt.date,
    language: str,
) -> str:
    """The annual rate or rates the figures use, e.g. 12,15 %.

    Every distinct rate of the selection's interest periods is printed (of the
    account's when nothing selected is late; with nothing late at all, the rule's
    rate for a debt falling overdue at the as-of date), in one of two ways:
    - one rate after another in time, when the rate changes with the half-year
      (fr_legal and de_legal split at 1 January / 1 July): in the order of the
      periods, joined by "puis" / "then", a rate kept over consecutive half-years
      written once: `13,15 % puis 12,15 %`, `13.15% then 12.15%`;
    - rates borne side by side, when items at different rates run over the same
      days (uk_legal and fr_legal's due_half_year fix one rate per debt): from the
      lowest, joined as amounts in several currencies are: `12,25 % ; 12,75 %`,
      `12.25%; 12.75%`.
    """
    periods = [p for i in selected.items for p in i.periods]
    periods = periods or [p for i in account.items for p in i.periods]
    if not periods:
        rate = _rule_rate(record, as_of)
        return percent(rate or money.ZERO, language)
    if _side_by_side(periods):
        shown = sorted({p.rate for p in periods})
        separator = " ; " if language == "fr" else "; "
    else:
        ordered = [p.rate for p in sorted(periods, key=lambda p: p.start)]
        shown = [r for n, r in enumerate(ordered) if n == 0 or r != ordered[n - 1]]
        separator = " puis " if language == "fr" else " then "
    return separator.join(percent(rate, language) for rate in shown)


def _side_by_side(periods: Iterable[penalties.Period]) -> bool:
    """Whether periods at different rates run over a same day."""
    running: dict[Decimal, dt.date] = {}  # rate -> last day of its periods so far
    for period in sorted(periods, key=lambda p: p.start):
        running = {r: end for r, end in running.items() if end >= period.start}
        if any(rate != period.rate for rate in running):
            return True
        running[period.rate] = max(period.end, running.get(period.rate, period.end))
    return False


def _rule_rate(record: dict, as_of: dt.date) -> Decimal | None:
    """The rule's annual rate for a debt falling overdue on the as-of date."""
    rule = record.get("penalty_rule")
    if rule == "fixed":
        return record.get("penalty_rate")
    if rule not in penalties.RULE_TABLES:
        return None
    reference = dt.date(as_of.year, 1 if as_of.month <= 6 else 7, 1)
    if rule == "uk_legal":
        reference -= dt.timedelta(days=1)
    base = rates.table(penalties.RULE_TABLES[rule]).rate_on(reference)
    if base is None:
        return None
    points = penalties.RULE_POINTS[rule]
    if rule == "de_legal" and record.get("is_consumer"):
        points = penalties.DE_CONSUMER_POINTS
    return base + points


def percent(rate: Decimal, language: str) -> str:
    """An annual percentage, e.g. '12,15 %' or '12.15%' (Babel's digits)."""
    digits = babel_numbers.format_decimal(
        Decimal(rate), "#,##0.00", locale=formatting.locale_of(language)
    )
    return plain(f"{digits} %" if language == "fr" else f"{digits}%")


# ---------------------------------------------------------------------------
# Statements


DOC_TYPES = {
    "fr": {
        "invoice": "Facture",
        "credit_note": "Avoir",
        "payment": "Règlement",
        "adjustment": "Ajustement",
    },
    "en": {
        "invoice": "Invoice",
        "credit_note": "Credit note",
        "payment": "Payment",
        "adjustment": "Adjustment",
    },
}
HEADINGS = {
    "fr": (
        "Pièce",
        "Type",
        "Date",
        "Échéance",
        "Jours de retard",
        "Montant",
        "Reste dû",
        "Pénalités",
        "Libellé",
    ),
    "en": (
        "Document",
        "Type",
        "Issue date",
        "Due date",
        "Days late",
        "Amount",
        "Open amount",
        "Penalty",
        "Reference",
    ),
}
TOTAL = {"fr": "Total", "en": "Total"}
NOTHING = {"fr": "Aucune pièce.", "en": "No item."}
# Columns written right-aligned (days late and amounts).
RIGHT = (4, 5, 6, 7)
REFERENCE = 8  # the one column whose text may wrap


def statement(items: Iterable[penalties.ItemPenalty], language: str) -> Block:
    """A statement of account: one line per item, a totals line per currency."""
    items = tuple(items)
    key = language if language in HEADINGS else "fr"
    headings = HEADINGS[key]
    if not items:
        return Block(NOTHING[key], f"<p>{escape(NOTHING[key])}</p>", table=True)
    lines = [_cells(item, key) for item in items]
    totals = [
        [f"{TOTAL[key]} {currency}", "", "", "", "", *figures, ""]
        for currency, figures in _total_cells(items, key).items()
    ]
    return Block(
        _text_table(headings, lines, totals),
        _html_table(headings, lines, totals),
        table=True,
    )


def _cells(item: penalties.ItemPenalty, language: str) -> list[str]:
    return [
        item.doc_number,
        DOC_TYPES[language].get(item.doc_type, item.doc_type),
        formatting.date(item.issue_date, language),
        formatting.date(item.due_date, language),
        "" if item.days_late is None or item.open_amount <= 0 else str(item.days_late),
        amount(item.amount, item.currency, language),
        amount(item.open_amount, item.currency, language),
        _penalty_cell(item, language),
        item.reference or "",
    ]


def _penalty_cell(item: penalties.ItemPenalty, language: str) -> str:
    """Interest and indemnity of one item, each in its own currency."""
    if not item.indemnity or item.indemnity_currency in (None, item.currency):
        return amount(item.interest + item.indemnity, item.currency, language)
    parts = [amount(item.indemnity, item.indemnity_currency, language)]
    if item.interest:
        parts.insert(0, amount(item.interest, item.currency, language))
    return " + ".join(parts)


def _total_cells(items: tuple, language: str) -> dict[str, list[str]]:
    """Per currency: the open amount and the penalties (indemnities where due)."""
    totals = penalties.totals(items)
    return {
        currency: [
            "",
            amount(t.amount_selected, currency, language),
            amount(t.penalties, currency, language),
        ]
        for currency, t in totals.items()
    }


def _text_table(headings: tuple, lines: list, totals: list) -> str:
    """Aligned columns for a monospace reader; amounts right-aligned."""
    rows = [list(headings), *lines, *totals]
    widths = [max(len(row[i]) for row in rows) for i in range(len(headings))]

    def line(row: list[str]) -> str:
        cells = [
            cell.rjust(width) if i in RIGHT else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(rows[0]), rule, *map(line, lines), rule, *map(line, totals)])


CELL = "padding:2px 8px;border-bottom:1px solid #ddd;"
TABLE_STYLE = "border-collapse:collapse;font-size:90%;margin:8px 0;"


def _html_table(headings: tuple, lines: list, totals: list) -> str:
    """An HTML table, every cell escaped; amounts right-aligned; only the reference
    wraps, so a document number or an amount never breaks across lines."""

    def cell(tag: str, value: str, index: int) -> str:
        align = "text-align:right;" if index in RIGHT else "text-align:left;"
        if index != REFERENCE:
            align += "white-space:nowrap;"
        return f'<{tag} style="{CELL}{align}">{escape(value)}</{tag}>'

    def row(values: list[str], tag: str = "td") -> str:
        return "<tr>" + "".join(cell(tag, v, i) for i, v in enumerate(values)) + "</tr>"

    head = row(list(headings), "th")
    body = "\n".join(row(values) for values in lines)
    foot = "\n".join(row(values, "th") for values in totals)
    return (
        f'<table class="statement" style="{TABLE_STYLE}">\n'
        f"<thead>{head}</thead>\n<tbody>\n{body}\n</tbody>\n"
        f"<tfoot>\n{foot}\n</tfoot>\n</table>"
    )


def _rows(items: Iterable[penalties.ItemPenalty], language: str) -> list[dict]:
    """The rows a template may loop over: raw values, for the formatting filters."""
    labels = DOC_TYPES.get(language, DOC_TYPES["fr"])
    return [
        {
            "doc_number": item.doc_number,
            "doc_type": item.doc_type,
            "type": labels.get(item.doc_type, item.doc_type),
            "issue_date": item.issue_date,
            "due_date": item.due_date,
            "days_late": item.days_late,
            "amount": item.amount,
            "open_amount": item.open_amount,
            "interest": item.interest,
            "indemnity": item.indemnity,
            "indemnity_currency": item.indemnity_currency or item.currency,
            "penalty": item.penalty,
            "currency": item.currency,
            "reference": item.reference or "",
            "status": item.status,
        }
        for item in items
    ]


# ---------------------------------------------------------------------------
# Addresses, contact, logo


def _customer_address(record: dict) -> str:
    """Street lines, postal code and city, country: one line each."""
    city = " ".join(p for p in (record.get("postal_code"), record.get("city")) if p)
    lines = [record.get("address") or "", city, record.get("country") or ""]
    return "\n".join(line.strip() for line in lines if line and line.strip())


def _address_block(text: str) -> Block:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    html = Markup("<br>\n").join(escape(line) for line in lines)
    return Block("\n".join(lines), str(html))


def _logo_block(uri: str, name: str) -> Block:
    """The logo as an <img> in HTML, only from a data: URI of a PNG or JPEG."""
    if not re.fullmatch(r"data:image/(png|jpeg);base64,[A-Za-z0-9+/=]+", uri or ""):
        return Block("", "")
    alt = escape(name or "logo")
    return Block("", f'<img src="{uri}" alt="{alt}" style="max-height:64px">')


def recipient(
    number: str,
    contact: str | Mapping[str, Any] | None,
    contacts: Sequence[Mapping[str, Any]],
) -> Recipient:
    """Who #contact_name names: the given contact (a name or a contact record),
    else one of the customer's contacts by role, with a note when it is a fallback
    or nobody (DESIGN 4)."""
    if isinstance(contact, Mapping):
        return Recipient(str(contact.get("name") or ""))
    if contact:
        return Recipient(str(contact))
    found = list(contacts)
    for role in ("dunning", "billing"):
        named = [c for c in found if c["role"] == role and c["name"]]
        if named:
            note = None
            if role == "billing":
                note = (
                    f"Customer {number} has no dunning contact: #contact_name is the "
                    f"billing contact {named[0]['name']}."
                )
            return Recipient(named[0]["name"], note)
    others = [c for c in found if c["name"] and c["email"]] or [
        c for c in found if c["name"]
    ]
    if others:
        return Recipient(
            others[0]["name"],
            f"Customer {number} has no dunning or billing contact: #contact_name is "
            f"{others[0]['name']}.",
        )
    return Recipient(
        "", f"Customer {number} has no named contact: #contact_name prints nothing."
    )

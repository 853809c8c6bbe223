"""Rendering a template (subject and body) for one customer and selection.

How a template is written: the subject is one line, the body plain text; blank lines
separate paragraphs. `#name` inserts a hashtag's value (see `dunning.hashtags`), and
Jinja2 statements may shape the text: `{% if %}`, `{% for %}` over the item rows
(`items_selected`, `items_open`, `items_overdue`, `items_not_due`), filters that
format (`money`, `date`, `number`, `percent`) or touch case and spacing. Nothing
else: no `{% set %}`, macros, includes, function calls (but `range`), attributes
starting with `_`, nor names other than the hashtags and loop variables. A template
breaking these rules is refused with a sentence naming the line and what is not
allowed.

Each body gives two outputs. The text one is the rendered text as written. The HTML
one is built from the same body: its literal text is escaped, each paragraph becomes
a `<p>` (single line breaks `<br>`), a statement hashtag becomes a `<table>` of its
own and every inserted value is escaped by Jinja's autoescape. Writing HTML markup
in a body is therefore shown as text, never interpreted.

Safety (DESIGN 8, case 09): hashtags are turned into Jinja variables in the
template source, and the values reach Jinja only as context values, so a customer
named `{{ 7*7 }}` stays literal and an inserted value is never scanned again.
Rendering runs in `jinja2.sandbox.ImmutableSandboxedEnvironment` with
`StrictUndefined`, a static check of the parsed template (above), bounded string
and power operators, the sandbox's range limit (MAX_RANGE), a size limit on the
template and on the output, and a wall-clock limit enforced by a trace function on
the template's own frames. When a template is refused, the preview still shows it
with only its hashtags replaced (every other character verbatim) and lists the
problem as blocking.

`compile` checks and compiles a template once and `render_compiled` renders it
with one customer's values; `preview` is the two for one customer, a campaign
compiles once and renders every customer, so both meet the same checks and limits.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import re
import sys
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import duckdb
import jinja2
import jinja2.meta
from babel import numbers as babel_numbers
from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from markupsafe import Markup, escape

from dunning import formatting, hashtags, penalties
from dunning.errors import DunningError

log = logging.getLogger(__name__)

MAX_TEMPLATE_CHARS = 64 * 1024
MAX_SUBJECT_CHARS = 500
MAX_OUTPUT_CHARS = 512 * 1024
TIME_LIMIT_SECONDS = 0.4
# The largest exponent `**` accepts and the longest text `*` or `+` may build.
MAX_EXPONENT = 64
MAX_BUILT_CHARS = 64 * 1024

# Filters a template may use: formatting, and a few that change case or spacing.
TEXT_FILTERS = (
    "upper",
    "lower",
    "capitalize",
    "title",
    "trim",
    "default",
    "d",
    "length",
    "count",
    "first",
    "last",
    "join",
    "abs",
    "round",
)
# Extra Jinja variables beside the hashtags.
VARIABLES = (*hashtags.ROWS, "language")
NO_ITEMS = "No item is selected: select the items this reminder claims."

# Parsed nodes a template may hold; anything else is refused with its name.
ALLOWED_NODES = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.If,
    nodes.For,
    nodes.Name,
    nodes.Const,
    nodes.Getattr,
    nodes.Getitem,
    nodes.Slice,
    nodes.Filter,
    nodes.Test,
    nodes.CondExpr,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.Neg,
    nodes.Pos,
    nodes.Compare,
    nodes.Operand,
    nodes.Concat,
    nodes.Add,
    nodes.Sub,
    nodes.Mul,
    nodes.Div,
    nodes.FloorDiv,
    nodes.Mod,
    nodes.Pow,
    nodes.List,
    nodes.Tuple,
    nodes.Dict,
    nodes.Pair,
    nodes.Keyword,
    nodes.Call,
)
REFUSED_WORDS = {
    "Assign": "{% set %}",
    "AssignBlock": "{% set %}",
    "Macro": "{% macro %}",
    "CallBlock": "{% call %}",
    "FilterBlock": "{% filter %}",
    "With": "{% with %}",
    "Include": "{% include %}",
    "Import": "{% import %}",
    "FromImport": "{% from ... import %}",
    "Extends": "{% extends %}",
    "Block": "{% block %}",
    "Scope": "{% with %}",
    "ExprStmt": "{% do %}",
}


class TemplateRefused(DunningError):
    """A template that cannot be rendered: syntax, a forbidden construct, a limit."""

    title = "Template refused"


@dataclass(frozen=True)
class Preview:
    """A template rendered for one customer and selection, with what to look at."""

    subject: str
    text: str
    html: str  # the HTML body fragment (values escaped)
    warnings: tuple[str, ...]
    blocking: tuple[str, ...]  # unknown hashtag, no items selected, template error
    assessment: penalties.Assessment
    values: dict


# ---------------------------------------------------------------------------
# The sandbox


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with bounded `*`, `**`, `%` and `+`."""

    intercepted_binops = frozenset(["*", "**", "%", "+"])

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
        problem = _binop_problem(operator, left, right)
        if problem:
            raise SecurityError(problem)
        return super().call_binop(context, operator, left, right)


def _binop_problem(operator: str, left: Any, right: Any) -> str | None:
    """Why `left operator right` may not run: a huge power, text or repetition."""
    numbers = _number(left) and _number(right)
    if operator == "**" and not (numbers and abs(right) <= MAX_EXPONENT):
        return f"'**' takes numbers and exponents up to {MAX_EXPONENT}"
    if operator == "%" and not numbers:
        return "'%' formatting is not available: use the filters"
    if operator == "*" and not numbers:
        count, sized = (right, left) if _number(right) else (left, right)
        if not _number(count) or _size(sized) * max(int(count), 0) > MAX_BUILT_CHARS:
            return "'*' would build a text longer than allowed"
    too_long = _size(left) + _size(right) > MAX_BUILT_CHARS
    if operator == "+" and too_long:
        return "'+' would build a text longer than allowed"
    return None


def _size(value: Any) -> int:
    return len(value) if isinstance(value, str | list | tuple) else 0


def _number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _environment(html: bool) -> _Sandbox:
    env = _Sandbox(
        autoescape=html,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.globals = {"range": env.globals["range"]}
    builtin = env.filters
    env.filters = {name: builtin[name] for name in TEXT_FILTERS}
    env.filters.update(
        money=_money_filter,
        date=_date_filter,
        number=_number_filter,
        percent=_percent_filter,
    )
    return env


@jinja2.pass_context
def _money_filter(context, value: Any, currency: str | None = None) -> str:
    """An amount in the customer's language: {{ x.open_amount|money(x.currency) }}."""
    if value is None or value == "":
        return ""
    code = currency or context.get("_currency") or "EUR"
    return hashtags.amount(Decimal(str(value)), str(code), context.get("language"))


@jinja2.pass_context
def _date_filter(context, value: Any) -> str:
    """A date in the customer's language: {{ item.due_date|date }}."""
    if isinstance(value, dt.date):
        return formatting.date(value, context.get("language"))
    return "" if value is None else str(value)


@jinja2.pass_context
def _number_filter(context, value: Any, places: int = 2) -> str:
    """A number with the customer's separators: {{ 1234.5|number }}."""
    places = max(0, min(int(places), 6))
    pattern = "#,##0" + ("." + "0" * places if places else "")
    locale = formatting.locale_of(context.get("language"))
    text = babel_numbers.format_decimal(Decimal(str(value)), pattern, locale=locale)
    return hashtags.plain(text)


@jinja2.pass_context
def _percent_filter(context, value: Any) -> str:
    """An annual percentage: {{ 12.15|percent }} -> 12,15 %."""
    return hashtags.percent(Decimal(str(value)), context.get("language") or "fr")


TEXT_ENV = _environment(html=False)
HTML_ENV = _environment(html=True)


# ---------------------------------------------------------------------------
# Checking a template


def problems(source: str, where: str = "body") -> list[str]:
    """Every reason this subject or body cannot be rendered (empty when fine)."""
    found = [u.message(where) for u in hashtags.unknown(source)]
    limit = MAX_SUBJECT_CHARS if where == "subject" else MAX_TEMPLATE_CHARS
    if len(source) > limit:
        return [
            *found,
            f"The {where} is {len(source):,} characters long; the limit is "
            f"{limit:,} (rendering.MAX_"
            f"{'SUBJECT' if where == 'subject' else 'TEMPLATE'}_CHARS).",
        ]
    try:
        tree = TEXT_ENV.parse(hashtags.to_jinja(source))
    except jinja2.TemplateSyntaxError as error:
        return [*found, _syntax_message(error, where)]
    return found + _construct_problems(tree, where)


def check(subject: str, body: str) -> None:
    """Refuse a template whose subject or body cannot be rendered (TemplateRefused)."""
    found = problems(subject, "subject") + problems(body, "body")
    if found:
        raise TemplateRefused(" ".join(found))


def _syntax_message(error: jinja2.TemplateSyntaxError, where: str) -> str:
    return (
        f"The {where} has a template syntax error at line {error.lineno}: "
        f"{error.message}. Check the {{% %}} and {{{{ }}}} pairs."
    )


def _construct_problems(tree: nodes.Template, where: str) -> list[str]:
    """What the parsed template uses that a reminder template may not."""
    allowed = set(hashtags.NAMES) | set(VARIABLES) | {"loop"}
    for loop in tree.find_all(nodes.For):
        allowed |= {n.name for n in loop.target.find_all(nodes.Name)}
        if isinstance(loop.target, nodes.Name):
            allowed.add(loop.target.name)
    found: list[str] = []
    _visit(tree, allowed, found, where)
    return list(dict.fromkeys(found))


def _visit(node: nodes.Node, allowed: set[str], found: list[str], where: str) -> None:
    line = f"{where} line {getattr(node, 'lineno', '?')}"
    kind = type(node).__name__
    if not isinstance(node, ALLOWED_NODES):
        what = REFUSED_WORDS.get(kind, f"the construct {kind}")
        found.append(
            f"{what} is not allowed in a template ({line}): use hashtags, "
            "{% if %}, {% for %} and the formatting filters."
        )
        return
    problem = _node_problem(node, allowed)
    if problem:
        found.append(f"{problem} ({line}).")
    if isinstance(node, nodes.Call) and _is_range(node):
        children = [*node.args]
    else:
        children = list(node.iter_child_nodes())
    for child in children:
        _visit(child, allowed, found, where)


def _node_problem(node: nodes.Node, allowed: set[str]) -> str | None:
    """Why one allowed kind of node is still refused here, or None."""
    if isinstance(node, nodes.Name) and node.ctx == "load" and node.name not in allowed:
        near = hashtags.suggest(node.name)
        hint = f"; did you mean {' or '.join(near)}" if near else ""
        return f"{node.name!r} is not a hashtag nor a template variable{hint}"
    if isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
        return f"the attribute {node.attr!r} is not allowed"
    if (
        isinstance(node, nodes.Getitem)
        and isinstance(node.arg, nodes.Const)
        and str(node.arg.value).startswith("_")
    ):
        return f"the key {node.arg.value!r} is not allowed"
    if isinstance(node, nodes.Call) and not _is_range(node):
        return "calling functions or methods is not allowed (only range())"
    if isinstance(node, nodes.Filter) and node.name not in TEXT_ENV.filters:
        return (
            f"the filter {node.name!r} is not available (filters: "
            f"{', '.join(sorted(TEXT_ENV.filters))})"
        )
    if isinstance(node, nodes.For) and node.recursive:
        return "recursive loops are not allowed"
    return None


def _is_range(node: nodes.Call) -> bool:
    return (
        isinstance(node.node, nodes.Name)
        and node.node.name == "range"
        and not node.kwargs
        and node.dyn_args is None
        and node.dyn_kwargs is None
    )


# ---------------------------------------------------------------------------
# Rendering


class _TimeUp(Exception):
    """Raised inside a template's frame when its wall-clock time is spent."""


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Stop template code running past `seconds` (a trace on its frames only)."""
    deadline = time.monotonic() + seconds

    def local(frame, event, arg):
        if time.monotonic() > deadline:
            raise _TimeUp
        return local

    def tracer(frame, event, arg):
        if frame.f_code.co_filename == "<template>":
            return local
        return None

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        yield
    finally:
        sys.settrace(previous)


def render(source: str, context: Mapping[str, Any], html: bool = False) -> str:
    """Render a Jinja source (hashtags already translated) in the sandbox.

    Raises TemplateRefused for a syntax error, a sandbox refusal, a size or time
    limit, or any failure of the template's own expressions.
    """
    env = HTML_ENV if html else TEXT_ENV
    try:
        template = env.from_string(source)
    except jinja2.TemplateSyntaxError as error:
        raise TemplateRefused(_syntax_message(error, "template")) from error
    return _generate(template, context)


def _generate(template: jinja2.Template, context: Mapping[str, Any]) -> str:
    """Run a compiled template in the sandbox under the size and time limits.

    Raises TemplateRefused for a sandbox refusal, a size or time limit, or any
    failure of the template's own expressions.
    """
    try:
        chunks, size = [], 0
        with _time_limit(TIME_LIMIT_SECONDS):
            for chunk in template.generate(dict(context)):
                size += len(chunk)
                if size > MAX_OUTPUT_CHARS:
                    raise TemplateRefused(
                        f"The rendered text would exceed {MAX_OUTPUT_CHARS:,} "
                        "characters (rendering.MAX_OUTPUT_CHARS): shorten the "
                        "template or its loops."
                    )
                chunks.append(chunk)
    except TemplateRefused:
        raise
    except _TimeUp as error:
        raise TemplateRefused(
            f"The template took more than {TIME_LIMIT_SECONDS} s to render "
            "(rendering.TIME_LIMIT_SECONDS): a loop is too large."
        ) from error
    except (SecurityError, jinja2.UndefinedError) as error:
        raise TemplateRefused(
            f"The template uses something it may not: {error}."
        ) from error
    except OverflowError as error:
        raise TemplateRefused(f"The template's loop is too large: {error}") from error
    except Exception as error:
        raise TemplateRefused(
            f"The template failed while rendering: {type(error).__name__}: {error}."
        ) from error
    return "".join(chunks)


@dataclass(frozen=True)
class Part:
    """A subject or a body checked and compiled once: its Jinja templates, or the
    problems that refuse it (it then renders with only its hashtags replaced)."""

    where: str  # "subject" or "body"
    source: str
    problems: tuple[str, ...]
    text: jinja2.Template | None = None  # None when refused
    html: jinja2.Template | None = None  # the body's HTML output only
    reads: frozenset[str] = frozenset()  # the variables its Jinja code reads


@dataclass(frozen=True)
class Compiled:
    """A template's subject and body compiled once, for one customer or many."""

    subject: Part
    body: Part
    used: tuple[str, ...]  # the hashtags it uses, in order of first use
    in_subject: tuple[str, ...]  # those the subject uses

    @property
    def problems(self) -> tuple[str, ...]:
        return self.subject.problems + self.body.problems

    @property
    def reads(self) -> frozenset[str]:
        """Every value rendering reads: the variables of the Jinja code, and the
        hashtags a refused part prints."""
        return self.subject.reads | self.body.reads | frozenset(self.used)


def compile(subject: str | None, body: str | None) -> Compiled:
    """Check and compile a template once; a refused part keeps its problems.

    `preview` compiles the template it is given for one customer; a campaign
    compiles its template once and renders it for every customer with
    `render_compiled`, so both go through the same checks, sandbox and limits.
    """
    subject, body = subject or "", body or ""
    return Compiled(
        subject=_compiled_part(subject, "subject"),
        body=_compiled_part(body, "body"),
        used=hashtags.used(f"{subject}\n{body}"),
        in_subject=hashtags.used(subject),
    )


def _compiled_part(source: str, where: str) -> Part:
    """One part checked (`problems`), then compiled by Jinja: the text, and for
    the body the HTML from its escaped literal text."""
    found = problems(source, where)
    if found:
        return Part(where, source, tuple(found))
    translated = hashtags.to_jinja(source)
    try:
        tree = TEXT_ENV.parse(translated)
        reads = frozenset(jinja2.meta.find_undeclared_variables(tree))
        text = TEXT_ENV.from_string(tree)
        html = None
        if where == "body":
            html = HTML_ENV.from_string(_escaped_data(translated))
    except jinja2.TemplateSyntaxError as error:
        problem = f"The {where} cannot be rendered: {_syntax_message(error, where)}"
        return Part(where, source, (problem,))
    return Part(where, source, (), text, html, reads)


def render_compiled(compiled: Compiled, computed: hashtags.Computed) -> Preview:
    """A compiled template rendered with one customer's values, and its problems.

    Blocking: the template's own, then what the reminder claims; `preview` puts
    the selection's before them.
    """
    # The subject on one line, then the body's two outputs.
    context = _context(computed, html=False)
    subject, _, subject_problems = _rendered_part(compiled.subject, computed, context)
    text, html, body_problems = _rendered_part(compiled.body, computed, context)
    claim_blocking, claim_warnings = _claim_problems(compiled.body.source, computed)

    # The warnings of the figures and of the hashtags used, then the claim's.
    warnings = [*computed.warnings_for(compiled.used), *claim_warnings]
    warnings += [
        f"#{name} is a statement: it belongs in the body; the subject shows it on "
        "one line."
        for name in compiled.in_subject
        if name in hashtags.LISTS
    ]
    blocking = subject_problems + body_problems + claim_blocking
    return Preview(
        subject=" ".join(subject.split()),
        text=text,
        html=html,
        warnings=tuple(dict.fromkeys(warnings)),
        blocking=tuple(dict.fromkeys(blocking)),
        assessment=computed.assessment,
        values=computed.values,
    )


def preview(
    con: duckdb.DuckDBPyConnection,
    customer_number: str,
    item_ids: Iterable[int],
    as_of: dt.date,
    subject: str,
    body: str,
    action_date: dt.date | None = None,
    contact: Any = None,
    include_disputed: bool = False,
) -> Preview:
    """Subject, text and HTML body for a customer's selection, with the problems."""
    ids = list(item_ids)
    computed = hashtags.compute(
        con, customer_number, ids, as_of, action_date, contact, include_disputed
    )
    blocking: list[str] = []
    if not ids:
        blocking.append(NO_ITEMS)
    elif not computed.assessment.items:
        blocking.append(
            f"None of the selected items is open at {as_of.isoformat()}: nothing "
            "to claim."
        )

    # The template as a campaign renders it, the selection's problems first.
    rendered = render_compiled(compile(subject, body), computed)
    blocking += rendered.blocking
    return dataclasses.replace(rendered, blocking=tuple(dict.fromkeys(blocking)))


def _claim_problems(
    body: str | None, computed: hashtags.Computed
) -> tuple[list[str], list[str]]:
    """(blocking, warnings) about what the reminder claims: an empty body blocks;
    so does a selection owing nothing (no currency whose amount selected is
    positive: a reminder would ask to pay a credit); a currency at zero or below
    beside an owed one is a warning."""
    blocking, warnings = [], []
    if not (body or "").strip():
        blocking.append(
            "The body is empty: write the text of the reminder (blank lines alone "
            "do not count)."
        )
    totals = {c: t.amount_selected for c, t in computed.assessment.totals.items()}
    written = {
        currency: formatting.money(amount, currency, computed.language)
        for currency, amount in totals.items()
    }
    not_owed = [currency for currency, amount in totals.items() if amount <= 0]
    if totals and len(not_owed) == len(totals):
        blocking.append(
            f"Nothing is owed on the selected items: they come to "
            f"{' and '.join(written[c] for c in not_owed)} (credits or payments). "
            "Select at least one item still owed; a credit alone is not claimed."
        )
    elif not_owed:
        warnings += [
            f"The selected items in {currency} come to {written[currency]}: nothing "
            f"is owed in {currency}, yet the reminder shows that amount."
            for currency in not_owed
        ]
    return blocking, warnings


def _rendered_part(
    part: Part, computed: hashtags.Computed, context: Mapping[str, Any]
) -> tuple[str, str, list[str]]:
    """(text, html, problems) of a subject or body; a refused one falls back to
    its hashtags replaced and every other character kept."""
    found = list(part.problems)
    tables: dict[str, str] = {}
    if part.text is not None:
        try:
            text = _generate(part.text, context)
            html = ""
            if part.html is not None:
                html_context = _context(computed, html=True, tables=tables)
                html = paragraphs(_generate(part.html, html_context), tables)
            return text, html, []
        except TemplateRefused as error:
            log.info("template refused while rendering: %s", type(error).__name__)
            found.append(f"The {part.where} cannot be rendered: {error}")
    text = hashtags.replace(part.source, computed.values)
    html = paragraphs(
        hashtags.replace(part.source, _html_values(computed.values, tables), html=True),
        tables,
    )
    return text, html, found


def _context(
    computed: hashtags.Computed, html: bool, tables: dict[str, str] | None = None
) -> dict[str, Any]:
    """The Jinja context: hashtag values (text or markup), rows, language."""
    values = _html_values(computed.values, tables) if html else computed.values
    context: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, hashtags.Block):
            value = Markup(value.html) if html else value.text
        context[name] = value
    context.update(computed.rows)
    context["language"] = computed.language
    context["_currency"] = _currency_of(computed)
    return context


def _currency_of(computed: hashtags.Computed) -> str:
    for item in computed.assessment.items:
        return item.currency
    return "EUR"


def _html_values(values: Mapping[str, Any], tables: dict[str, str] | None) -> dict:
    """Values for HTML: each statement replaced by a placeholder put back after the
    paragraphs are made, so a table never lands inside a <p>."""
    if tables is None:
        return dict(values)
    mapped = dict(values)
    for name, value in values.items():
        if isinstance(value, hashtags.Block) and value.table:
            key = f"\ue000{uuid.uuid4().hex}\ue001"
            tables[key] = value.html
            mapped[name] = hashtags.Block(value.text, key, table=True)
    return mapped


def _escaped_data(source: str) -> str:
    """The template source with its literal text HTML-escaped (Jinja code kept)."""
    parts = []
    for _line, token, value in TEXT_ENV.lex(source):
        parts.append(str(escape(value)) if token == "data" else value)
    return "".join(parts)


_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
_PLACEHOLDER = re.compile("(\ue000[0-9a-f]{32}\ue001)")


def paragraphs(rendered: str, tables: Mapping[str, str]) -> str:
    """Escaped text cut into <p> at blank lines, <br> at line breaks, tables apart."""
    out = []
    for chunk in _PARAGRAPH_BREAK.split(rendered.strip()):
        for piece in _PLACEHOLDER.split(chunk):
            if piece in tables:
                out.append(tables[piece])
            elif piece.strip():
                lines = [line.rstrip() for line in piece.strip("\n").split("\n")]
                out.append("<p>" + "<br>\n".join(lines).strip() + "</p>")
    return "\n".join(out)

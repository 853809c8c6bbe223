"""Reminder templates: the predefined library in `templates/` and the saved ones.

A predefined template is a file `templates/NAME.txt`: front matter between two `---`
lines (`name`, `title`, `channel`, `language`, `subject`), then the body (plain text
with hashtags, see `dunning.rendering`). Saved templates live in the workspace's
`templates` table. A saved name may not shadow a predefined one, so a name always
means the same text for everyone reading an action; save a changed copy under a name
of its own.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from dunning import clock, customers, penalties, rendering, store
from dunning.errors import InvalidValue, NotFound

TEMPLATES_DIR = store.PROJECT_DIR / "templates"
CHANNELS = ("email", "letter", "sms", "call")
LANGUAGES = ("fr", "en")
NAME_RULE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
FRONT_MATTER_KEYS = ("name", "title", "channel", "language", "subject")


@dataclass(frozen=True)
class Template:
    """A reminder template: where it comes from, its channel, language and text."""

    name: str
    channel: str
    language: str
    subject: str
    body: str
    title: str = ""
    predefined: bool = False
    saved_at: dt.datetime | None = None

    @property
    def label(self) -> str:
        """How pickers name it: title and name, or the name alone."""
        return f"{self.title} ({self.name})" if self.title else self.name


# ---------------------------------------------------------------------------
# The predefined library


def library(folder: Path = TEMPLATES_DIR) -> list[Template]:
    """Every predefined template, by name."""
    found = [parse(path.read_text(encoding="utf-8"), path) for path in _files(folder)]
    return sorted(found, key=lambda template: template.name)


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.txt") if p.is_file())


def parse(text: str, source: Path | str = "template") -> Template:
    """A template from its file: front matter, then the body."""
    lines = text.replace("\r\n", "\n").split("\n")
    if not lines or lines[0].strip() != "---" or "---" not in lines[1:]:
        raise InvalidValue(
            f"{source}: a template file starts with front matter between two '---' "
            "lines (name, title, channel, language, subject), then the body."
        )
    end = lines.index("---", 1)
    meta: dict[str, str] = {}
    for line in lines[1:end]:
        key, colon, value = line.partition(":")
        if not colon or key.strip() not in FRONT_MATTER_KEYS:
            raise InvalidValue(
                f"{source}: front matter line {line!r} is not 'key: value' with a key "
                f"among {', '.join(FRONT_MATTER_KEYS)}."
            )
        meta[key.strip()] = value.strip()
    body = "\n".join(lines[end + 1 :]).strip("\n") + "\n"
    return Template(
        name=meta.get("name") or Path(str(source)).stem,
        title=meta.get("title", ""),
        channel=meta.get("channel", "email"),
        language=meta.get("language", "fr"),
        subject=meta.get("subject", ""),
        body=body,
        predefined=True,
    )


def predefined(name: str) -> Template | None:
    """The predefined template of that name, if there is one."""
    return next((t for t in library() if t.name == name), None)


# ---------------------------------------------------------------------------
# The workspace's saved templates


def saved(con: duckdb.DuckDBPyConnection) -> list[Template]:
    """Templates saved in the workspace, by name."""
    rows = con.execute(
        "SELECT name, channel, language, subject, body, saved_at FROM templates "
        "ORDER BY name"
    ).fetchall()
    return [_from_row(row) for row in rows]


def _from_row(row: tuple[Any, ...]) -> Template:
    name, channel, language, subject, body, saved_at = row
    return Template(name, channel, language, subject, body, saved_at=saved_at)


def every(con: duckdb.DuckDBPyConnection) -> list[Template]:
    """The library first, then the saved templates."""
    return [*library(), *saved(con)]


def get(con: duckdb.DuckDBPyConnection, name: str) -> Template:
    """A template by name: predefined, else saved in the workspace."""
    found = predefined(name)
    if found:
        return found
    row = con.execute(
        "SELECT name, channel, language, subject, body, saved_at FROM templates "
        "WHERE name = ?",
        [name],
    ).fetchone()
    if row:
        return _from_row(row)
    names = [t.name for t in every(con)]
    raise NotFound(
        f"There is no template named {name!r}. Templates: {', '.join(names)}."
    )


def save(
    con: duckdb.DuckDBPyConnection,
    name: str,
    channel: str,
    language: str,
    subject: str,
    body: str,
) -> Template:
    """Store a template under a name of its own, after checking it renders."""
    name = (name or "").strip()
    _check_name(name)
    if channel not in CHANNELS:
        raise InvalidValue(f"Channel {channel!r}: use one of {', '.join(CHANNELS)}.")
    if language not in LANGUAGES:
        raise InvalidValue(f"Language {language!r}: use fr or en.")
    subject = subject or ""
    if "\n" in subject or "\r" in subject:
        raise InvalidValue("The subject is one line: remove its line breaks.")
    if not (body or "").strip():
        raise InvalidValue("The body is empty: write the text of the reminder.")
    rendering.check(subject, body)
    con.execute(
        "INSERT INTO templates (name, channel, language, subject, body, saved_at) "
        "VALUES (?, ?, ?, ?, ?, current_timestamp) ON CONFLICT (name) DO UPDATE SET "
        "channel = excluded.channel, language = excluded.language, "
        "subject = excluded.subject, body = excluded.body, "
        "saved_at = excluded.saved_at",
        [name, channel, language, subject, body],
    )
    return get(con, name)


def _check_name(name: str) -> None:
    if not NAME_RULE.fullmatch(name):
        raise InvalidValue(
            f"Template name {name!r}: use 1 to 64 lowercase letters, digits, '-' or "
            "'_', starting with a letter or digit (e.g. relance-litige-fr)."
        )
    if predefined(name):
        raise InvalidValue(
            f"{name!r} is a predefined template: save your version under another "
            f"name (e.g. {name}-perso)."
        )


def delete(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Remove a saved template (the predefined ones cannot be removed)."""
    if predefined(name):
        raise InvalidValue(f"{name!r} is a predefined template: it cannot be deleted.")
    row = con.execute("SELECT count(*) FROM templates WHERE name = ?", [name])
    if not row.fetchone()[0]:
        raise NotFound(f"There is no saved template named {name!r}.")
    con.execute("DELETE FROM templates WHERE name = ?", [name])


# ---------------------------------------------------------------------------
# Preview by names (command line, notebook)


def preview(
    con: duckdb.DuckDBPyConnection,
    customer: str,
    items: list[str] | str,
    template: str | None = None,
    body: str | None = None,
    subject: str | None = None,
    as_of: dt.date | str | None = None,
    **options: Any,
) -> rendering.Preview:
    """A preview from document numbers and a template name or a body of text.

    `subject` replaces the template's subject when given. `options` go to
    rendering.preview (action_date, contact, include_disputed).
    """
    if (template is None) == (body is None):
        raise InvalidValue("Give either a template name or a body, not both.")
    chosen = get(con, template) if template is not None else None
    docs = [items] if isinstance(items, str) else list(items)
    docs = [doc.strip() for part in docs for doc in str(part).split(",")]
    ids = penalties.item_ids(con, customer, [doc for doc in docs if doc])
    return rendering.preview(
        con,
        customer,
        ids,
        clock.as_of_or_today(as_of),
        subject if subject is not None else (chosen.subject if chosen else ""),
        chosen.body if chosen else body,
        **options,
    )


def starting_selection(
    con: duckdb.DuckDBPyConnection,
    customer: str,
    as_of: dt.date,
    basket: Iterable[int] = (),
) -> tuple[list[int], str]:
    """The items a preview starts from, and where they come from: the basket's
    items of this customer ("basket"), else the customer's overdue ones
    ("overdue")."""
    items = customers.open_items(con, customer, as_of)
    picked = set(basket)
    chosen = [item["item_id"] for item in items if item["item_id"] in picked]
    if chosen:
        return chosen, "basket"
    overdue = [
        item["item_id"]
        for item in items
        if item["open_amount"] > 0 and (item["days_late"] or 0) > 0
    ]
    return overdue, "overdue"

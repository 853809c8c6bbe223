"""Email messages of email actions: who receives them, headers that cannot be
injected, HTML and plain-text parts, the statement attached, the `.eml` file.

Every value that enters a header is checked here before the message is built: no
carriage return or line feed (nor the Unicode line separators), no RFC 2047
encoded-word (Python 3.11.7 decodes `=?UTF-8?Q?=0A?=` back into a real line break
when it writes a header, CVE-2024-6923), and addresses validated one by one. Mailboxes
are built with `email.headerregistry.Address`, which quotes a display name, so
"Caron, Julien" stays one mailbox. The finished message is parsed back and compared
with the recipients it was built for: a header that does not survive the round trip
refuses the message. Sending through SMTP (issue 6) takes the same message and the
same validated recipient list as its envelope.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import html as html_lib
import os
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import NamedTuple

import duckdb

from dunning import customers, store
from dunning.errors import InvalidValue

# A bare addr-spec: one @, a dotted domain, nothing a header could be split on.
_ADDRESS = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
# An RFC 2047 encoded-word, =?charset?B|Q?text?=, anywhere in a value.
_ENCODED_WORD = re.compile(r"=\?[^?\s]*\?[bBqQ]\?.*?\?=", re.DOTALL)
# Characters that end a header line for some reader: controls, NEL, LS, PS.
_LINE_BREAKS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")
# "Name <address>" or a bare address, one mailbox per line of a To/Cc field.
_MAILBOX = re.compile(
    r"^\s*(?:(?P<name>.*?)\s*<(?P<angle>[^<>]*)>|(?P<bare>[^<>]*))\s*$"
)
ROLE_ORDER = ("dunning", "billing")
MAX_FILE_NAME = 80


class Mailbox(NamedTuple):
    """One recipient or sender: a display name (may be empty) and an address."""

    name: str
    email: str

    def __str__(self) -> str:
        return str(Address(display_name=self.name, addr_spec=self.email))


@dataclass(frozen=True)
class Recipients:
    """Who an email action goes to, and why it cannot go when it cannot."""

    to: tuple[Mailbox, ...] = ()
    cc: tuple[Mailbox, ...] = ()
    fallback_note: str | None = None
    disabled_reason: str | None = None

    @property
    def sendable(self) -> bool:
        return bool(self.to) and self.disabled_reason is None

    def as_json(self) -> dict:
        return {
            "to": [list(m) for m in self.to],
            "cc": [list(m) for m in self.cc],
            "fallback_note": self.fallback_note,
            "disabled_reason": self.disabled_reason,
        }

    @classmethod
    def from_json(cls, data: dict | None) -> Recipients:
        data = data or {}
        return cls(
            to=tuple(Mailbox(*m) for m in data.get("to") or ()),
            cc=tuple(Mailbox(*m) for m in data.get("cc") or ()),
            fallback_note=data.get("fallback_note"),
            disabled_reason=data.get("disabled_reason"),
        )


class Attachment(NamedTuple):
    """A file attached to a message: its name as the reader sees it, and bytes."""

    file_name: str
    data: bytes
    mime_type: str = "application/pdf"


# ---------------------------------------------------------------------------
# Checking header values


def header_text(field: str, value: str | None) -> str:
    """A value for a header (subject, display name), refused when it could break
    the header: a line break, a control character, or an encoded-word."""
    text = "" if value is None else str(value)
    if _LINE_BREAKS.search(text):
        raise InvalidValue(
            f"The {field} {_shown(text)} contains a line break or a control "
            "character: a header value must be one line of text."
        )
    if _ENCODED_WORD.search(text):
        raise InvalidValue(
            f"The {field} {_shown(text)} contains an encoded word (=?…?=): write "
            "it as plain text."
        )
    return text.strip()


def address(field: str, value: str | None) -> str:
    """One email address, validated: name@example.com, nothing else."""
    text = header_text(field, value)
    if not text or not _ADDRESS.match(text) or ".." in text:
        raise InvalidValue(
            f"The {field} {_shown(text)} is not a valid email address: write one "
            "address like name@example.com."
        )
    try:
        Address(addr_spec=text)
    except (ValueError, IndexError) as error:
        raise InvalidValue(
            f"The {field} {_shown(text)} is not a valid email address."
        ) from error
    return text


def mailbox(field: str, name: str | None, email_address: str | None) -> Mailbox:
    """A checked mailbox: its display name on one line, its address valid."""
    clean_name = header_text(f"{field} name", name)
    return Mailbox(clean_name, address(f"{field} address", email_address))


def parse_mailboxes(field: str, text: str | None) -> tuple[Mailbox, ...]:
    """Mailboxes typed by a user, one per line: `Name <name@example.com>` or a bare
    address. A comma belongs to the name; lines are never split on it."""
    found = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        match = _MAILBOX.match(line)
        if not match:
            raise InvalidValue(
                f"{field}: {_shown(line)} is not a mailbox; write one per line as "
                "Name <name@example.com> or name@example.com."
            )
        if match.group("bare") is not None:
            found.append(mailbox(field, "", match.group("bare")))
        else:
            name = match.group("name").strip().strip('"').strip()
            found.append(mailbox(field, name, match.group("angle")))
    return tuple(found)


def format_mailboxes(mailboxes: Iterable[Mailbox]) -> str:
    """Mailboxes as a user edits them: one per line."""
    return "\n".join(f"{m.name} <{m.email}>" if m.name else m.email for m in mailboxes)


def _shown(text: str) -> str:
    """A value quoted in a message, its line breaks made visible."""
    return repr(text[:120])


# ---------------------------------------------------------------------------
# Who receives it


def recipients(con: duckdb.DuckDBPyConnection, customer_number: str) -> Recipients:
    """The default recipient of a reminder (DESIGN 4).

    The dunning contact, else the billing contact, else any other contact with an
    email (a fallback, said so); every contact of that role receives it (an import
    splits "a@x; b@x" into two contacts). Contacts are matched by customer number
    only. When an address of that role is unusable, sending is refused with the
    reason rather than sent to someone else.
    """
    contacts = [c for c in customers.contacts(con, customer_number) if c["email"]]
    if not contacts:
        return Recipients(
            disabled_reason=(
                f"Customer {customer_number} has no contact with an email address: "
                "sending is disabled; send a letter instead or add a contact."
            )
        )
    chosen = contacts[0]
    group = [c for c in contacts if c["role"] == chosen["role"]]
    try:
        to = tuple(box for contact in group for box in _contact_mailboxes(contact))
    except InvalidValue as error:
        return Recipients(
            disabled_reason=f"{error} Correct the contact of customer "
            f"{customer_number} before sending."
        )
    note = None
    if chosen["role"] not in ROLE_ORDER:
        role = chosen["role"] or "no role"
        note = (
            f"No dunning or billing contact: sent to {chosen['name'] or 'a contact'} "
            f"({role}) instead."
        )
    return Recipients(to=to, fallback_note=note)


def _contact_mailboxes(contact: dict) -> tuple[Mailbox, ...]:
    """A contact's addresses: its email field may list several, split on ';'."""
    parts = [p.strip() for p in re.split(r"[;,]", contact["email"]) if p.strip()]
    return tuple(mailbox("contact", contact["name"], part) for part in parts)


def sender(con: duckdb.DuckDBPyConnection) -> Mailbox:
    """Who the email comes from: DUNNING_SMTP_FROM, else the sender setting."""
    values = store.settings(con)
    email_address = os.environ.get("DUNNING_SMTP_FROM") or values.get("sender.email")
    if not email_address:
        raise InvalidValue(
            "No sender email address is set: fill in the sender email in the "
            "settings (sender.email) or set DUNNING_SMTP_FROM."
        )
    name = values.get("sender.name") or values.get("company.name") or ""
    return mailbox("sender", name, email_address)


# ---------------------------------------------------------------------------
# The message


def build_message(
    *,
    sender: Mailbox,
    to: Sequence[Mailbox],
    subject: str,
    text: str,
    html: str | None = None,
    cc: Sequence[Mailbox] = (),
    attachment: Attachment | None = None,
    date: dt.datetime | None = None,
    message_id: str | None = None,
) -> EmailMessage:
    """A standards-compliant message: plain text and HTML alternatives, the
    attachment if any, every header checked and the result verified."""
    # Every header value is checked before it reaches the message.
    from_box = mailbox("sender", sender.name, sender.email)
    to_boxes = tuple(mailbox("To", m.name, m.email) for m in to)
    cc_boxes = tuple(mailbox("Cc", m.name, m.email) for m in cc)
    if not to_boxes:
        raise InvalidValue("The message has no recipient: give at least one To.")
    clean_subject = header_text("subject", subject)
    if not clean_subject:
        raise InvalidValue("The message has no subject: write one.")

    message = EmailMessage(policy=policy.SMTP)
    message["From"] = _address(from_box)
    message["To"] = [_address(m) for m in to_boxes]
    if cc_boxes:
        message["Cc"] = [_address(m) for m in cc_boxes]
    message["Subject"] = clean_subject
    message["Date"] = email.utils.format_datetime(
        (date or dt.datetime.now()).astimezone()
    )
    message["Message-ID"] = header_text("message id", message_id) or make_message_id(
        from_box.email
    )
    message["MIME-Version"] = "1.0"

    # The body: plain text first, the HTML alternative after it.
    # Quoted-printable keeps the message 7-bit: any relay accepts it.
    message.set_content(text or "", subtype="plain", cte="quoted-printable")
    if html is not None:
        message.add_alternative(
            html_document(html, clean_subject), subtype="html", cte="quoted-printable"
        )
    if attachment is not None:
        maintype, _, subtype = attachment.mime_type.partition("/")
        message.add_attachment(
            attachment.data,
            maintype=maintype,
            subtype=subtype,
            filename=file_name(attachment.file_name),
        )
    _verify(message, from_box, to_boxes, cc_boxes)
    return message


def _address(box: Mailbox) -> Address:
    try:
        return Address(display_name=box.name, addr_spec=box.email)
    except (ValueError, IndexError) as error:
        raise InvalidValue(f"The address {_shown(box.email)} is not valid.") from error


def make_message_id(sender_address: str) -> str:
    """A unique Message-ID in the sender's domain."""
    return email.utils.make_msgid(domain=sender_address.rpartition("@")[2])


def html_document(fragment: str, title: str) -> str:
    """The HTML part: the rendered body in a minimal document."""
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{html_lib.escape(title)}</title></head>"
        f"<body>{fragment}</body></html>\n"
    )


def file_name(text: str) -> str:
    """An attachment file name that no header can be split on: ASCII letters,
    digits, dot, dash and underscore only, at most 80 characters."""
    stem, dot, suffix = str(text).rpartition(".")
    if not dot:
        stem, suffix = suffix, ""
    plain = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", plain).strip("._") or "document"
    suffix = re.sub(r"[^A-Za-z0-9]+", "", suffix)[:8]
    safe = safe[: MAX_FILE_NAME - len(suffix) - 1]
    return f"{safe}.{suffix}" if suffix else safe


def _verify(
    message: EmailMessage,
    from_box: Mailbox,
    to: tuple[Mailbox, ...],
    cc: tuple[Mailbox, ...],
) -> None:
    """Parse the written message back: exactly the headers and recipients it was
    built with, no header line added by any value."""
    parsed = BytesParser(policy=policy.default).parsebytes(
        message.as_bytes(), headersonly=True
    )
    counts = {name: len(parsed.get_all(name) or ()) for name in ("From", "To", "Cc")}
    expected = {"From": 1, "To": 1, "Cc": 1 if cc else 0}
    if (
        counts != expected
        or parsed.get_all("Bcc")
        or len(parsed.get_all("Subject")) != 1
    ):
        raise InvalidValue(
            "The message headers did not come out as built: it was not written. "
            "Check the contact and subject for unusual characters."
        )
    for name, boxes in (("From", (from_box,)), ("To", to), ("Cc", cc)):
        found = [a.addr_spec.lower() for a in parsed[name].addresses] if boxes else []
        if found != [b.email.lower() for b in boxes]:
            raise InvalidValue(
                f"The {name} header did not come out as built: it was not written. "
                "Check the contact's name and address."
            )
    for name, value in parsed.items():
        if "\r" in str(value) or "\n" in str(value):
            raise InvalidValue(f"The {name} header holds a line break: not written.")


def write_eml(
    message: EmailMessage, out_dir: Path | str, name: str = "message"
) -> Path:
    """Write the message as an .eml file in out_dir, never over an existing one."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = unused_path(folder, file_name(f"{name}.eml"))
    path.write_bytes(message.as_bytes(policy=policy.SMTP))
    return path


def unused_path(folder: Path, name: str) -> Path:
    """folder/name, or folder/name-2, -3 ... when it is taken."""
    path = folder / name
    stem, suffix = path.stem, path.suffix
    number = 2
    while path.exists():
        path = folder / f"{stem}-{number}{suffix}"
        number += 1
    return path

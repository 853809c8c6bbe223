"""Email messages of email actions: who receives them, headers that cannot be
injected, HTML and plain-text parts, the statement attached, the `.eml` file.

Every value that enters a header is checked here before the message is built: no
carriage return or line feed (nor the Unicode line separators), no RFC 2047
encoded-word (Python 3.11.7 decodes `=?UTF-8?Q?=0A?=` back into a real line break
when it writes a header, CVE-2024-6923), and addresses validated one by one. Mailboxes
are built with `email.headerregistry.Address`, which quotes a display name, so
"Caron, Julien" stays one mailbox. The finished message is parsed back and compared
with the recipients it was built for: a header that does not survive the round trip
refuses the message.

Sending goes through `smtplib` with the connection of `settings.smtp` (security none,
STARTTLS or SSL with the system's trusted certificates, a login when a user is set).
The envelope recipients are the validated To and Cc list the message was built
from, never read back from its header text. Every library or network error becomes
one `SendingFailed` sentence naming the server and what failed; it never holds the
password or the body.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import html as html_lib
import logging
import re
import smtplib
import socket
import ssl
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

from dunning import customers, exporting, settings, store
from dunning.errors import InvalidValue, SendingFailed

log = logging.getLogger(__name__)

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
# Seconds to wait for the SMTP server at each step before giving up.
SMTP_TIMEOUT = 30
# Statement files of the selected items, by suffix, with their MIME type.
STATEMENT_FORMATS = {
    ".csv": "text/csv",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


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
    """Who the email comes from: the SMTP From address (DUNNING_SMTP_FROM, the
    secrets file or the workspace, DESIGN 15), else the sender setting."""
    values = store.settings(con)
    email_address = settings.smtp(con).sender or values.get("sender.email")
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
    attachment: Attachment | Sequence[Attachment] | None = None,
    date: dt.datetime | None = None,
    message_id: str | None = None,
) -> EmailMessage:
    """A standards-compliant message: plain text and HTML alternatives, the
    attachments if any, every header checked and the result verified."""
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
    if isinstance(attachment, Attachment):
        attachment = (attachment,)
    for attached in attachment or ():
        maintype, _, subtype = attached.mime_type.partition("/")
        message.add_attachment(
            attached.data,
            maintype=maintype,
            subtype=subtype,
            filename=file_name(attached.file_name),
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


# ---------------------------------------------------------------------------
# Statements as spreadsheets


def statement_file(
    con: duckdb.DuckDBPyConnection,
    item_ids: Iterable[int],
    as_of: dt.date,
    suffix: str,
) -> bytes:
    """The selected items open at the as-of date as a .csv or .xlsx statement,
    formula-looking cells neutralised (dunning.exporting)."""
    if suffix not in STATEMENT_FORMATS:
        raise InvalidValue(
            f"A statement is written as {' or '.join(STATEMENT_FORMATS)}, not "
            f"{suffix!r}."
        )
    return exporting.WRITERS[suffix](exporting.basket_rows(con, item_ids, as_of))


def statement_name(customer_number: str, as_of: dt.date, suffix: str) -> str:
    """The file name of a customer's statement at the as-of date."""
    return file_name(f"statement-{customer_number}-{as_of.isoformat()}{suffix}")


# ---------------------------------------------------------------------------
# Sending


@dataclass(frozen=True)
class Sent:
    """What the SMTP server accepted: the message id, the envelope recipients,
    and those it refused while accepting others."""

    message_id: str
    recipients: tuple[str, ...]
    refused: tuple[str, ...] = ()


def envelope(to: Iterable[Mailbox], cc: Iterable[Mailbox] = ()) -> tuple[str, ...]:
    """The envelope recipients: the To and Cc addresses as validated, once each."""
    found: dict[str, str] = {}
    for box in (*to, *cc):
        checked = address("recipient address", box.email)
        found.setdefault(checked.lower(), checked)
    return tuple(found.values())


def send(
    smtp: settings.Smtp,
    message: EmailMessage,
    recipients: Sequence[str],
) -> Sent:
    """Hand one message to the SMTP server, for exactly these recipients.

    `recipients` is the validated list the message was built for; the message's
    own To and Cc header text is never used as the envelope.
    """
    if not smtp.configured:
        raise SendingFailed(
            "Sending by email is not configured: give the SMTP host and From "
            "address in the settings or set DUNNING_SMTP_HOST and DUNNING_SMTP_FROM."
        )
    rcpt = tuple(address("recipient address", r) for r in recipients)
    if not rcpt:
        raise SendingFailed("The message has no recipient: nothing was sent.")
    mail_from = address("SMTP From address", smtp.sender)
    server = f"{smtp.host}:{smtp.port}"
    step = "connect"
    try:
        with _connect(smtp) as client:
            if smtp.security == "starttls":
                step = "starttls"
                _starttls(client, server)
            if smtp.user:
                step = "login"
                client.login(smtp.user, smtp.password)
            step = "send"
            refused = client.send_message(
                message, from_addr=mail_from, to_addrs=list(rcpt)
            )
    except SendingFailed:
        raise
    except (smtplib.SMTPException, ssl.SSLError, OSError) as error:
        log.warning("sending failed at %s (%s)", step, type(error).__name__)
        raise SendingFailed(_failure(error, smtp, server, step)) from error
    return Sent(
        str(message["Message-ID"]),
        tuple(r for r in rcpt if r not in refused),
        tuple(sorted(refused)),
    )


def _connect(smtp: settings.Smtp) -> smtplib.SMTP:
    """An open connection: plain, or TLS from the first byte for security ssl."""
    if smtp.security == "ssl":
        return smtplib.SMTP_SSL(
            smtp.host,
            smtp.port,
            timeout=SMTP_TIMEOUT,
            context=ssl.create_default_context(),
        )
    return smtplib.SMTP(smtp.host, smtp.port, timeout=SMTP_TIMEOUT)


def _starttls(client: smtplib.SMTP, server: str) -> None:
    """Switch to TLS, or stop: security starttls never falls back to plain text."""
    client.ehlo()
    if not client.has_extn("starttls"):
        raise SendingFailed(
            f"The SMTP server {server} does not offer STARTTLS, which the security "
            "setting asks for: nothing was sent. Choose the security the server "
            "supports (ssl, or none for a local relay) or another port."
        )
    client.starttls(context=ssl.create_default_context())
    client.ehlo()


def _failure(error: BaseException, smtp: settings.Smtp, server: str, step: str) -> str:
    """One sentence a user can act on: the server, what failed, what to check."""
    head = f"Sending to the SMTP server {server} failed"
    if isinstance(error, smtplib.SMTPAuthenticationError):
        text = (
            f"{head}: the login of user {smtp.user!r} was refused "
            f"({_reply(error, smtp)}). Check DUNNING_SMTP_USER and "
            "DUNNING_SMTP_PASSWORD (or the secrets file)."
        )
    elif isinstance(error, smtplib.SMTPNotSupportedError) and step == "login":
        text = (
            f"{head}: the server does not offer a login (AUTH) on this connection. "
            "Remove the SMTP user, or choose starttls or ssl security."
        )
    elif isinstance(error, smtplib.SMTPRecipientsRefused):
        refused = ", ".join(
            f"{rcpt} ({_reply_of(code, reply, smtp)})"
            for rcpt, (code, reply) in sorted(error.recipients.items())
        )
        text = f"{head}: every recipient was refused: {refused}."
    elif isinstance(error, smtplib.SMTPSenderRefused):
        text = (
            f"{head}: the sender address {error.sender!r} was refused "
            f"({_reply_of(error.smtp_code, error.smtp_error, smtp)}). Check the "
            "From address (DUNNING_SMTP_FROM)."
        )
    elif isinstance(error, smtplib.SMTPDataError):
        text = f"{head}: the message was refused ({_reply(error, smtp)})."
    elif isinstance(error, smtplib.SMTPServerDisconnected):
        text = f"{head}: the server closed the connection during {step}."
    elif isinstance(error, smtplib.SMTPResponseException):
        text = f"{head} during {step}: {_reply(error, smtp)}."
    elif isinstance(error, ssl.SSLCertVerificationError):
        text = (
            f"{head}: its TLS certificate is not trusted ({error.verify_message}). "
            "Check the host name."
        )
    elif isinstance(error, ssl.SSLError):
        text = (
            f"{head}: the TLS handshake failed ({error.reason or error}). Check "
            "that the security setting (ssl or starttls) matches the port."
        )
    elif isinstance(error, ConnectionRefusedError):
        text = f"{head}: the connection was refused. Check the host and port."
    elif isinstance(error, socket.gaierror):
        text = f"{head}: the host {smtp.host!r} was not found."
    elif isinstance(error, TimeoutError):
        text = f"{head}: no answer within {SMTP_TIMEOUT} seconds during {step}."
    else:
        text = f"{head} during {step}: {type(error).__name__}: {error}."
    return _without_secret(text, smtp.password)


def _reply(error: smtplib.SMTPResponseException, smtp: settings.Smtp) -> str:
    return _reply_of(error.smtp_code, error.smtp_error, smtp)


def _reply_of(code: int, reply: bytes | str, smtp: settings.Smtp) -> str:
    """The server's answer, short and on one line."""
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    text = " ".join(str(text).split())[:200]
    return _without_secret(f"{code} {text}".strip(), smtp.password)


def _without_secret(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text


def send_test(con: duckdb.DuckDBPyConnection, to: str) -> Sent:
    """Send a short test email to one address with the SMTP settings in force."""
    smtp = settings.smtp(con)
    recipient = address("test recipient", to)
    from_box = sender(con)
    company = settings.company(con).name or "Dunning workspace"
    message = build_message(
        sender=from_box,
        to=[Mailbox("", recipient)],
        subject=f"Test email from {company}",
        text=(
            "This is a test email sent from the dunning workspace settings.\n"
            f"It went through {smtp.host}:{smtp.port} ({smtp.security}).\n"
        ),
    )
    return send(smtp, message, [recipient])

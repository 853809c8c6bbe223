"""The settings a user edits: defaults for new customers, company and sender details,
penalty practice, and the SMTP connection.

Values live in the workspace (store.settings). The SMTP connection is resolved in the
order of DESIGN 15: the environment wins over `.streamlit/secrets.toml`, which wins
over the workspace. The password is never stored in the workspace and never shown.
"""

from __future__ import annotations

import base64
import email.utils
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from babel import numbers

from dunning import customers, store
from dunning.errors import InvalidValue

SECRETS_PATH = store.PROJECT_DIR / ".streamlit" / "secrets.toml"

SECURITIES = ("none", "starttls", "ssl")
FR_RATE_REFERENCES = ("split", "due_half_year")
LOGO_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg"}
LOGO_MAX_BYTES = 512 * 1024
TEXT_MAX_LENGTH = 500

# Settings edited in the app, with the kind of value each takes.
EDITABLE: dict[str, str] = {
    "defaults.language": "language",
    "defaults.currency": "currency",
    "defaults.payment_terms_days": "days",
    "defaults.penalty_rule": "penalty_rule",
    "defaults.indemnity_enabled": "flag",
    "penalties.fr_rate_reference": "fr_rate_reference",
    "company.name": "line",
    "company.address": "text",
    "company.iban": "iban",
    "sender.name": "line",
    "sender.email": "email",
    "sender.phone": "line",
    "smtp.host": "host",
    "smtp.port": "port",
    "smtp.security": "security",
    "smtp.user": "line",
    "smtp.from": "email",
}

# Where each SMTP value may come from: environment variable, secrets-file key.
SMTP_FIELDS = {
    "host": "DUNNING_SMTP_HOST",
    "port": "DUNNING_SMTP_PORT",
    "security": "DUNNING_SMTP_SECURITY",
    "user": "DUNNING_SMTP_USER",
    "password": "DUNNING_SMTP_PASSWORD",
    "from": "DUNNING_SMTP_FROM",
}
DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}

_HOST = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
_ADDRESS = re.compile(r"^[^@\s<>\"(),;:\\\[\]]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


@dataclass(frozen=True)
class Company:
    """Who the letters and emails come from."""

    name: str
    address: str
    iban: str
    logo: str  # a data: URI of the image, or ""
    sender_name: str
    sender_email: str
    sender_phone: str


@dataclass(frozen=True)
class Smtp:
    """The SMTP connection, and where each value came from (for the settings page)."""

    host: str
    port: int
    security: str
    user: str
    password: str
    sender: str
    sources: Mapping[str, str]

    @property
    def configured(self) -> bool:
        return bool(self.host and self.sender)

    def __repr__(self) -> str:
        # The password never reaches a log line or a traceback through repr.
        hidden = "set" if self.password else "not set"
        return (
            f"Smtp(host={self.host!r}, port={self.port}, security={self.security!r}, "
            f"user={self.user!r}, password={hidden}, sender={self.sender!r})"
        )


def editable(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Every editable setting with its current value."""
    values = store.settings(con)
    return {key: values.get(key, _blank(kind)) for key, kind in EDITABLE.items()}


def update(con: duckdb.DuckDBPyConnection, changes: Mapping[str, Any]) -> dict:
    """Check every changed value, then store them all in one transaction."""
    clean = {key: checked(key, value) for key, value in changes.items()}
    with store.transaction(con):
        for key, value in clean.items():
            store.set_setting(con, key, value)
    return editable(con)


def checked(key: str, value: Any) -> Any:
    """The value to store for one setting, or InvalidValue saying what is expected."""
    kind = EDITABLE.get(key)
    if kind is None:
        raise InvalidValue(f"The setting {key!r} cannot be edited.")
    if kind == "flag":
        if not isinstance(value, bool):
            raise InvalidValue(f"{_label(key)}: choose on or off.")
        return value
    text = "" if value is None else str(value).strip()
    if kind in ("line", "host", "email", "iban") and re.search(r"[\r\n]", text):
        raise InvalidValue(f"{_label(key)}: a line break is not allowed here.")
    if len(text) > TEXT_MAX_LENGTH:
        raise InvalidValue(
            f"{_label(key)}: at most {TEXT_MAX_LENGTH} characters, got {len(text)}."
        )
    return _CHECKS[kind](key, text)


def _blank(kind: str) -> Any:
    return False if kind == "flag" else ""


def _label(key: str) -> str:
    return key.replace(".", " ").replace("_", " ").capitalize()


def _text(key: str, text: str) -> str:
    return text


def _language(key: str, text: str) -> str:
    customers.checked_field("language", text)
    return text


def _currency(key: str, text: str) -> str:
    code = text.upper()
    if code not in numbers.list_currencies():
        raise InvalidValue(
            f"{_label(key)} {text!r}: use a 3-letter ISO 4217 code such as EUR."
        )
    return code


def _days(key: str, text: str) -> int:
    return customers.checked_field("payment_terms_days", text)


def _penalty_rule(key: str, text: str) -> str:
    return customers.checked_field("penalty_rule", text)


def _fr_rate_reference(key: str, text: str) -> str:
    if text not in FR_RATE_REFERENCES:
        raise InvalidValue(
            f"{_label(key)} {text!r}: use 'split' (each half-year at its own rate) "
            "or 'due_half_year' (the rate of the half-year the invoice fell due)."
        )
    return text


def _iban(key: str, text: str) -> str:
    compact = re.sub(r"\s+", "", text).upper()
    if compact and not iban_is_valid(compact):
        raise InvalidValue(
            f"IBAN {text!r} is not valid: check the country code, the two check "
            "digits and the account number (ISO 13616)."
        )
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def iban_is_valid(compact: str) -> bool:
    """ISO 13616: the country, check digits and account, mod 97 equal to 1."""
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}", compact):
        return False
    rearranged = compact[4:] + compact[:4]
    digits = "".join(str(int(char, 36)) for char in rearranged)
    return int(digits) % 97 == 1


def _email(key: str, text: str) -> str:
    if text and not address_is_valid(text):
        raise InvalidValue(
            f"{_label(key)} {text!r} is not an email address: write it as "
            "name@example.com, without a display name."
        )
    return text


def address_is_valid(text: str) -> bool:
    """A bare addr-spec: one @, a dotted domain, nothing a header could split on."""
    return bool(_ADDRESS.match(text)) and email.utils.parseaddr(text)[1] == text


def _host(key: str, text: str) -> str:
    if text and not _HOST.match(text):
        raise InvalidValue(
            f"SMTP host {text!r}: give a host name or address such as "
            "smtp.example.com, without a scheme or a port."
        )
    return text


def _port(key: str, text: str) -> int | str:
    if text == "":
        return ""
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise InvalidValue(f"SMTP port {text!r}: give a number from 1 to 65535.")
    return int(text)


def _security(key: str, text: str) -> str:
    if text not in SECURITIES:
        raise InvalidValue(
            f"SMTP security {text!r}: use one of {', '.join(SECURITIES)}."
        )
    return text


_CHECKS = {
    "line": _text,
    "text": _text,
    "language": _language,
    "currency": _currency,
    "days": _days,
    "penalty_rule": _penalty_rule,
    "fr_rate_reference": _fr_rate_reference,
    "iban": _iban,
    "email": _email,
    "host": _host,
    "port": _port,
    "security": _security,
}


def set_logo(con: duckdb.DuckDBPyConnection, file_name: str, data: bytes) -> str:
    """Keep the company logo inside the workspace, as a data: URI."""
    extension = Path(file_name).suffix.lower().lstrip(".")
    if extension not in LOGO_TYPES:
        raise InvalidValue(
            f"Logo {file_name!r}: use a PNG or JPEG image "
            f"({', '.join(sorted(LOGO_TYPES))})."
        )
    if len(data) > LOGO_MAX_BYTES:
        raise InvalidValue(
            f"Logo {file_name!r} is {len(data) // 1024} KB: use an image of at most "
            f"{LOGO_MAX_BYTES // 1024} KB."
        )
    uri = f"data:{LOGO_TYPES[extension]};base64,{base64.b64encode(data).decode()}"
    store.set_setting(con, "company.logo", uri)
    return uri


def clear_logo(con: duckdb.DuckDBPyConnection) -> None:
    store.set_setting(con, "company.logo", "")


def company(con: duckdb.DuckDBPyConnection) -> Company:
    """The company and sender details used by letters and emails."""
    values = store.settings(con)
    return Company(
        name=values.get("company.name") or "",
        address=values.get("company.address") or "",
        iban=values.get("company.iban") or "",
        logo=values.get("company.logo") or "",
        sender_name=values.get("sender.name") or "",
        sender_email=values.get("sender.email") or "",
        sender_phone=values.get("sender.phone") or "",
    )


def smtp(
    con: duckdb.DuckDBPyConnection,
    environ: Mapping[str, str] | None = None,
    secrets_path: Path | None = None,
) -> Smtp:
    """The SMTP connection: environment, then secrets file, then workspace."""
    environ = os.environ if environ is None else environ
    layers = [
        ("environment", {f: environ.get(var) for f, var in SMTP_FIELDS.items()}),
        ("secrets file", _secrets(secrets_path or SECRETS_PATH)),
        ("workspace", _workspace_smtp(con)),
    ]
    values: dict[str, str] = {}
    sources: dict[str, str] = {}
    for source, layer in layers:
        for field, value in layer.items():
            if field not in values and value not in (None, ""):
                values[field] = str(value).strip()
                sources[field] = source
    return _smtp_checked(values, sources)


def _smtp_checked(values: dict[str, str], sources: dict[str, str]) -> Smtp:
    """Validate the resolved values, naming where a wrong one came from."""

    def check(field: str, key: str) -> Any:
        try:
            return checked(key, values.get(field, ""))
        except InvalidValue as error:
            where = sources.get(field, "workspace")
            raise InvalidValue(
                f"{error} (from the {where}: {SMTP_FIELDS[field]})"
            ) from error

    security = check("security", "smtp.security") if "security" in values else "none"
    port = check("port", "smtp.port") or DEFAULT_PORTS[security]
    return Smtp(
        host=check("host", "smtp.host"),
        port=port,
        security=security,
        user=check("user", "smtp.user"),
        password=values.get("password", ""),
        sender=check("from", "smtp.from"),
        sources=sources,
    )


def _workspace_smtp(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    values = store.settings(con, "smtp.")
    return {field: values.get(f"smtp.{field}") for field in SMTP_FIELDS}


def _secrets(path: Path) -> dict[str, Any]:
    """SMTP values of the secrets file: an [smtp] table, or DUNNING_SMTP_* keys."""
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise InvalidValue(
            f"The secrets file {path} cannot be read ({error}). Fix its TOML syntax "
            "or remove it."
        ) from error
    table = data.get("smtp") if isinstance(data.get("smtp"), dict) else {}
    return {
        field: table.get(field, data.get(variable))
        for field, variable in SMTP_FIELDS.items()
    }

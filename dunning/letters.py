"""Letters as A4 documents: one HTML page for the screen preview and the PDF.

A letter is a full HTML document built around the rendered body: the company logo
and sender block, the recipient's address placed for the window of a C5 or DL
envelope (window on the right, 110 mm from the left edge and 50 mm from the top),
place and date, the subject line, the body, the statement of the items when the body
does not already hold one, and page numbers from CSS page counters. WeasyPrint turns
the same HTML into the PDF; it may only read `data:` URIs, so a template cannot make
it fetch a local file or a network address.

The address window ends with the customer's country only when it is abroad: a
letter posted inside the company's own country carries no country line (La
Poste's rule for domestic mail). The company's country is the setting
`company.country` (an ISO code such as `FR`, or a name such as `France`) when it
is set, else France in a workspace whose default language is French; otherwise
it is unknown and every country is printed.
"""

from __future__ import annotations

import base64
import html
import io
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from dunning import customers, formatting, store
from dunning.errors import DunningError

log = logging.getLogger(__name__)

LETTER_TYPES = ("letter", "letter_ar", "formal_notice")
IMAGE_TYPES = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
}
LOGO_MAX_BYTES = 2 * 1024 * 1024

LABELS = {
    "fr": {
        "subject": "Objet :",
        "attention": "À l'attention de",
        "letter_ar": "Lettre recommandée avec accusé de réception",
        "formal_notice": "Mise en demeure",
        "statement": "Relevé des pièces",
        "document": "Pièce",
        "type": "Type",
        "issue_date": "Date",
        "due_date": "Échéance",
        "days_late": "Jours de retard",
        "amount": "Montant",
        "open_amount": "Reste dû",
        "penalty": "Pénalités",
        "total": "Total",
        "including": "Total pénalités comprises",
        "page": "Page",
        "of": "sur",
        "iban": "IBAN",
        "as_of": "Situation au",
        "customer": "Client",
        "on": "le",
    },
    "en": {
        "subject": "Subject:",
        "attention": "For the attention of",
        "letter_ar": "Registered letter with acknowledgement of receipt",
        "formal_notice": "Formal notice",
        "statement": "Statement of items",
        "document": "Document",
        "type": "Type",
        "issue_date": "Issued",
        "due_date": "Due",
        "days_late": "Days late",
        "amount": "Amount",
        "open_amount": "Open amount",
        "penalty": "Penalty",
        "total": "Total",
        "including": "Total including penalties",
        "page": "Page",
        "of": "of",
        "iban": "IBAN",
        "as_of": "Position at",
        "customer": "Customer",
        "on": "",
    },
}
DOC_TYPES = {
    "fr": {
        "invoice": "Facture",
        "credit_note": "Avoir",
        "payment": "Règlement",
        "adjustment": "Régularisation",
    },
    "en": {
        "invoice": "Invoice",
        "credit_note": "Credit note",
        "payment": "Payment",
        "adjustment": "Adjustment",
    },
}

STYLE = """
@page {
  size: A4;
  margin: 18mm 18mm 22mm 20mm;
  @bottom-left { content: element(footer); }
  @bottom-right {
    content: "%(page)s " counter(page) " %(of)s " counter(pages);
    font: 8pt sans-serif; color: #555;
  }
}
html { font: 10pt/1.4 "DejaVu Sans", Arial, sans-serif; color: #111; }
body { margin: 0; }
@media screen {
  html { background: #e8e8e8; }
  body { width: 172mm; min-height: 257mm; margin: 8mm auto; background: #fff;
         padding: 18mm 18mm 22mm 20mm; box-shadow: 0 0 4px #999; }
  .footer { display: none; }
}
.head { position: relative; height: 80mm; }
.logo { max-height: 18mm; max-width: 60mm; display: block; margin-bottom: 3mm; }
.sender { width: 80mm; font-size: 9pt; white-space: pre-line; }
.sender .name { font-weight: bold; font-size: 11pt; }
/* The window of a C5 or DL envelope: 110 mm from the left edge of the sheet and
   50 mm from its top, that is 90 mm and 32 mm inside the page margins. */
.recipient { position: absolute; left: 90mm; top: 32mm; width: 82mm;
             height: 38mm; overflow: hidden; white-space: pre-line; }
.mention { font-weight: bold; text-transform: uppercase; font-size: 9pt;
           margin-bottom: 2mm; }
.place { text-align: right; margin: 0 0 6mm; }
.subject { font-weight: bold; margin: 0 0 6mm; }
.body { text-align: justify; }
/* A statement table rendered in the body (#items_list_selected): full width,
   small enough for eight columns on A4, document numbers on one line. */
.body table { width: 100%%; text-align: left; font-size: 7.5pt !important;
              border-collapse: collapse; }
.body table th, .body table td { padding: 1mm 1.2mm !important;
                                 vertical-align: top; }
.body table td:first-child, .body table th { white-space: nowrap; }
.statement { margin-top: 8mm; }
table.items { border-collapse: collapse; width: 100%%; font-size: 8.5pt; }
table.items th, table.items td { border-bottom: 0.3mm solid #bbb;
                                 padding: 1.2mm 1.5mm; }
table.items th { text-align: left; background: #f0f0f0; }
table.items td.n, table.items th.n { text-align: right; white-space: nowrap; }
table.items tr.total td { font-weight: bold; border-bottom: none; }
table.items { page-break-inside: auto; }
table.items tr { page-break-inside: avoid; }
.footer { position: running(footer); font-size: 7.5pt; color: #555; }
"""


@dataclass(frozen=True)
class Letterhead:
    """Who writes: company and sender details from the workspace settings."""

    company_name: str = ""
    company_address: str = ""
    company_iban: str = ""
    logo: str = ""  # a data: URI, or "" for no logo
    sender_name: str = ""
    sender_email: str = ""
    sender_phone: str = ""
    company_country: str = ""  # an ISO code, "" when unknown

    @property
    def place(self) -> str:
        """The town the letter is written from: the last line of the address,
        without its postal code."""
        lines = [line.strip() for line in self.company_address.splitlines()]
        lines = [line for line in lines if line]
        if not lines:
            return ""
        return re.sub(r"^(?:[A-Z]{1,2}-)?\d{4,5}\s+", "", lines[-1])


def letterhead(con: duckdb.DuckDBPyConnection) -> Letterhead:
    """The letterhead from the company.* and sender.* settings."""
    values = store.settings(con)
    return Letterhead(
        company_name=values.get("company.name") or "",
        company_address=values.get("company.address") or "",
        company_iban=values.get("company.iban") or "",
        logo=logo_uri(values.get("company.logo") or ""),
        sender_name=values.get("sender.name") or "",
        sender_email=values.get("sender.email") or "",
        sender_phone=values.get("sender.phone") or "",
        company_country=company_country(values),
    )


# Country names a ledger may hold instead of the ISO code (upper case, no accent).
COUNTRY_CODES = {
    "FRANCE": "FR",
    "FRA": "FR",
    "UNITED KINGDOM": "GB",
    "ROYAUME-UNI": "GB",
    "UK": "GB",
    "GBR": "GB",
    "GERMANY": "DE",
    "ALLEMAGNE": "DE",
    "DEUTSCHLAND": "DE",
    "DEU": "DE",
    "BELGIQUE": "BE",
    "BELGIUM": "BE",
    "BEL": "BE",
    "SUISSE": "CH",
    "SWITZERLAND": "CH",
    "CHE": "CH",
    "ESPAGNE": "ES",
    "SPAIN": "ES",
    "ESP": "ES",
    "ITALIE": "IT",
    "ITALY": "IT",
    "ITA": "IT",
    "LUXEMBOURG": "LU",
    "LUX": "LU",
}


def country_code(text: str | None) -> str:
    """A country as its ISO code when it is one we know by name ('France' ->
    'FR'); any other text upper-cased, so that equal texts still compare."""
    word = " ".join(str(text or "").split()).upper()
    return COUNTRY_CODES.get(word, word)


def company_country(values: dict[str, Any]) -> str:
    """The company's country: the `company.country` setting, else France in a
    French workspace (defaults.language fr), else unknown ("")."""
    configured = country_code(values.get("company.country"))
    if configured:
        return configured
    return "FR" if values.get("defaults.language") == "fr" else ""


def logo_uri(setting: str) -> str:
    """The logo as a data: URI: the setting is one already, or the path of a
    readable PNG, JPEG or GIF image; anything else gives no logo."""
    if setting.startswith("data:image/"):
        return setting
    if not setting:
        return ""
    try:
        path = Path(setting).expanduser()
        if not path.is_file() or path.stat().st_size > LOGO_MAX_BYTES:
            return ""
        data = path.read_bytes()
    except OSError:
        return ""
    for magic, mime in IMAGE_TYPES.items():
        if data.startswith(magic):
            return f"data:{mime};base64,{base64.b64encode(data).decode()}"
    return ""


def labels(language: str | None) -> dict[str, str]:
    return LABELS.get((language or "fr").lower(), LABELS["fr"])


# ---------------------------------------------------------------------------
# The document


def document(
    *,
    head: Letterhead,
    customer: dict[str, Any],
    kind: str,
    letter_date,
    subject: str,
    body_html: str,
    contact_name: str | None = None,
    assessment: Any = None,
    language: str | None = None,
) -> str:
    """The letter as a full HTML document (for the screen and for `pdf`)."""
    language = language or customer.get("language") or "fr"
    words = labels(language)
    statement = ""
    if assessment is not None and "<table" not in body_html.lower():
        statement = (
            f'<section class="statement"><h3>{_e(words["statement"])}</h3>'
            f"{statement_table(assessment, language)}</section>"
        )
    mention = words.get(kind, "") if kind in ("letter_ar", "formal_notice") else ""
    place_and_date = _place_and_date(head.place, letter_date, language, words)
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{_e(language)}"><head><meta charset="utf-8">'
        f"<title>{_e(subject)}</title><style>{STYLE % words}</style></head><body>"
        f'<div class="footer">{_footer(head, words)}</div>'
        '<div class="head">'
        f"{_sender_block(head)}"
        '<div class="recipient">'
        f"{_recipient_block(customer, contact_name, words, head.company_country)}"
        "</div></div>"
        f'<p class="place">{_e(place_and_date)}</p>'
        + (f'<p class="mention">{_e(mention)}</p>' if mention else "")
        + f'<p class="subject">{_e(words["subject"])} {_e(subject)}</p>'
        f'<div class="body">{body_html}</div>'
        f"{statement}"
        "</body></html>\n"
    )


def from_preview(
    con: duckdb.DuckDBPyConnection,
    customer_number: str,
    kind: str,
    letter_date,
    preview: Any,
    contact_name: str | None = None,
) -> str:
    """The letter a rendered preview becomes (the composer's preview and PDF)."""
    return document(
        head=letterhead(con),
        customer=customers.get(con, customer_number),
        kind=kind,
        letter_date=letter_date,
        subject=preview.subject,
        body_html=preview.html,
        contact_name=contact_name,
        assessment=preview.assessment,
    )


def statement_document(
    *,
    head: Letterhead,
    customer: dict[str, Any],
    assessment: Any,
    as_of,
    language: str | None = None,
) -> str:
    """A statement of the selected items alone, the attachment of an email."""
    language = language or customer.get("language") or "fr"
    words = labels(language)
    title = f"{words['statement']} — {customer.get('name') or ''}".strip(" —")
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{_e(language)}"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{STYLE % words}</style></head><body>"
        f'<div class="footer">{_footer(head, words)}</div>'
        f"{_sender_block(head)}"
        f"<h2>{_e(title)}</h2>"
        f"<p>{_e(words['customer'])} {_e(customer.get('customer_number') or '')} — "
        f"{_e(words['as_of'])} {_e(formatting.date(as_of, language))}</p>"
        f"{statement_table(assessment, language)}"
        "</body></html>\n"
    )


def statement_table(assessment: Any, language: str | None = "fr") -> str:
    """The selected items as an HTML table with a totals row per currency."""
    words = labels(language)
    types = DOC_TYPES.get((language or "fr").lower(), DOC_TYPES["fr"])
    heads = [
        ("document", ""),
        ("type", ""),
        ("issue_date", ""),
        ("due_date", ""),
        ("days_late", "n"),
        ("amount", "n"),
        ("open_amount", "n"),
        ("penalty", "n"),
    ]
    rows = [
        "<tr>"
        + "".join(f'<th class="{cls}">{_e(words[key])}</th>' for key, cls in heads)
        + "</tr>"
    ]
    for item in assessment.items:
        cells = [
            (item.doc_number, ""),
            (types.get(item.doc_type, item.doc_type), ""),
            (formatting.date(item.issue_date, language), ""),
            (formatting.date(item.due_date, language), ""),
            ("" if item.days_late is None else str(item.days_late), "n"),
            (formatting.money(item.amount, item.currency, language), "n"),
            (formatting.money(item.open_amount, item.currency, language), "n"),
            (_item_penalty(item, language), "n"),
        ]
        rows.append(
            "<tr>"
            + "".join(f'<td class="{cls}">{_e(value)}</td>' for value, cls in cells)
            + "</tr>"
        )
    for currency, total in assessment.totals.items():

        def cell(value, currency=currency):
            return (
                f'<td class="n">{_e(formatting.money(value, currency, language))}</td>'
            )

        rows.append(
            f'<tr class="total"><td colspan="6">{_e(words["total"])} {_e(currency)}'
            f"</td>{cell(total.amount_selected)}{cell(total.penalties)}</tr>"
            f'<tr class="total"><td colspan="7">{_e(words["including"])} '
            f"{_e(currency)}</td>{cell(total.amount_including_penalties)}</tr>"
        )
    return f'<table class="items">{"".join(rows)}</table>'


def _item_penalty(item: Any, language: str | None) -> str:
    """An item's penalty; an indemnity fixed in another currency (40 EUR on a GBP
    invoice under the French rule) is written beside the interest, not added."""
    indemnity_currency = getattr(item, "indemnity_currency", None) or item.currency
    if item.indemnity and indemnity_currency != item.currency:
        return (
            f"{formatting.money(item.interest, item.currency, language)} + "
            f"{formatting.money(item.indemnity, indemnity_currency, language)}"
        )
    return formatting.money(item.penalty, item.currency, language)


def _sender_block(head: Letterhead) -> str:
    logo = f'<img class="logo" src="{_e(head.logo)}" alt="">' if head.logo else ""
    contact = "\n".join(
        part
        for part in (head.sender_name, head.sender_phone, head.sender_email)
        if part
    )
    return (
        f'<div class="sender">{logo}<div class="name">{_e(head.company_name)}</div>'
        f"{_e(head.company_address)}"
        + (f"\n{_e(contact)}" if contact else "")
        + "</div>"
    )


def _recipient_block(
    customer: dict[str, Any], contact: str | None, words, home_country: str = ""
) -> str:
    """The address window; no country line for a customer in the company's own
    country."""
    town = " ".join(
        part for part in (customer.get("postal_code"), customer.get("city")) if part
    )
    lines = [customer.get("name") or customer.get("customer_number") or ""]
    if contact:
        lines.append(f"{words['attention']} {contact}")
    country = customer.get("country") or ""
    if home_country and country_code(country) == home_country:
        country = ""
    lines += [customer.get("address") or "", town, country]
    return _e("\n".join(" ".join(str(line).split()) for line in lines if line))


def _place_and_date(place: str, letter_date, language: str, words) -> str:
    day = formatting.date(letter_date, language)
    if not place:
        return day
    on = f" {words['on']}" if words["on"] else ""
    return f"{place},{on} {day}"


def _footer(head: Letterhead, words) -> str:
    parts = [head.company_name]
    if head.company_iban:
        parts.append(f"{words['iban']} {head.company_iban}")
    return _e(" — ".join(part for part in parts if part))


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


# ---------------------------------------------------------------------------
# PDF


class LetterError(DunningError):
    """A letter could not be turned into a PDF."""

    title = "Letter not produced"


def pdf(document_html: str) -> bytes:
    """The PDF of a letter document (WeasyPrint; only data: URIs are read)."""
    import weasyprint

    fetcher = weasyprint.urls.URLFetcher(allowed_protocols=("data",))
    try:
        return weasyprint.HTML(string=document_html, url_fetcher=fetcher).write_pdf()
    except Exception as error:
        raise LetterError(
            f"The letter could not be made into a PDF ({type(error).__name__}: "
            f"{error}). Check the template's HTML."
        ) from error


def merge(pdfs: Iterable[bytes]) -> bytes:
    """Several PDFs one after the other in one file (a campaign's letters)."""
    import pypdf

    writer = pypdf.PdfWriter()
    for data in pdfs:
        writer.append(pypdf.PdfReader(io.BytesIO(data)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def page_texts(data: bytes) -> Sequence[str]:
    """The text of each page of a PDF (pypdf), to check what a letter says."""
    import pypdf

    return [
        page.extract_text() or "" for page in pypdf.PdfReader(io.BytesIO(data)).pages
    ]

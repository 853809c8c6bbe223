"""The demo workspace: a realistic French ledger generated from the lists in data/demo.

Everything is drawn from one seeded generator in a fixed order, and dates stay as
days before the as-of date until the files are written. The same as-of date gives
byte-identical files; another as-of date gives the same customers, amounts and
lettering, with every date moved along, so the aging spread always looks the same.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import logging
import random
import re
import string
import tempfile
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb

from dunning import clock, importing, money, store

log = logging.getLogger(__name__)

SEED = 20250814
SOURCE_DIR = Path(__file__).resolve().parent.parent / "data" / "demo"
SOURCES = (
    "cities",
    "streets",
    "first_names",
    "last_names",
    "companies",
    "words",
    "legal_forms",
    "mailboxes",
    "labels",
)

FILE_NAMES = {
    "customers": "demo-clients.csv",
    "contacts": "demo-contacts.csv",
    "items": "demo-encours.csv",
}
CUSTOMER_HEADER = [
    "Code client", "Raison sociale", "Adresse", "Code postal", "Ville", "Pays",
    "Langue", "Devise", "Délai de paiement", "Segment", "Commercial", "Téléphone",
]  # fmt: skip
CONTACT_HEADER = ["Code client", "Contact", "Rôle", "Email", "Téléphone"]
ITEM_HEADER = [
    "Code client", "Raison sociale", "Type pièce", "N° pièce", "Libellé",
    "Date pièce", "Date échéance", "Montant TTC", "Reste dû", "Devise", "Statut",
    "Lettrage",
]  # fmt: skip
WORKSPACE_TABLES = (
    "allocations",
    "import_problems",
    "items",
    "contacts",
    "customers",
    "imports",
)

# Document types and statuses as the seller's accounting software writes them.
INVOICE, CREDIT_NOTE, PAYMENT = "Facture", "Avoir", "Règlement"
PREFIXES = {INVOICE: "FA", CREDIT_NOTE: "AV", PAYMENT: "RG"}
# Documents the seller issues per ten days, which drives where a year's numbers are.
NUMBERING_PACE = {INVOICE: 70, CREDIT_NOTE: 3, PAYMENT: 20}
POSTED, DISPUTED, PROMISED, CANCELLED = "Comptabilisée", "Litige", "Promesse", "Annulée"

# Who the customers are: French firms and bodies, and exports to firms and groups
# in Britain, the United States and French subsidiaries that work in English.
KEY_ACCOUNTS = "Grands comptes"
DOMESTIC_SEGMENTS = {
    "Retail": 14,
    "Industrie": 10,
    "Services": 11,
    "Public": 7,
    KEY_ACCOUNTS: 6,
}
EXPORT_SEGMENTS = {"Industrie": 5, "Services": 4, KEY_ACCOUNTS: 3}
EXPORT_COUNTRIES = {"GB": 5, "US": 4, "FR": 3}
CURRENCIES = {"FR": "EUR", "GB": "GBP", "US": "USD"}
TERMS = {
    "Retail": (30,),
    "Industrie": (30, 45, 60),
    "Services": (30, 30, 45),
    "Public": (30,),
    KEY_ACCOUNTS: (45, 60),
}
STREET_NUMBERS = {"FR": (1, 140), "GB": (1, 220), "US": (100, 2400)}
ACCOUNT_MANAGERS = 5
SILENT_CUSTOMERS = 3  # customers with no contact email at all
FRENCH_MOBILE = "06 39 98 ## ##"  # ARCEP's block for fiction, never a subscriber

# What their ledgers hold: invoices per customer, prices before VAT (whole units).
VOLUMES = {
    "Retail": (6, 14),
    "Industrie": (18, 32),
    "Services": (12, 24),
    "Public": (10, 22),
    KEY_ACCOUNTS: (40, 64),
}
PRICES = {
    "Retail": (80, 1500),
    "Industrie": (400, 18000),
    "Services": (150, 6000),
    "Public": (200, 12000),
    KEY_ACCOUNTS: (1500, 60000),
}
FRENCH_VAT = Decimal("1.20")

# How late each kind of payer is: weights of the days-late buckets below.
HISTORY_DAYS = 425  # invoices are issued over the 14 months before the as-of date
LATENESS = ((-HISTORY_DAYS, 0), (1, 30), (31, 60), (61, 90), (91, 180), (181, 999))
PAYERS = {
    "good": (55, 28, 10, 4, 2, 1),
    "average": (40, 25, 14, 8, 7, 6),
    "late": (26, 22, 16, 13, 13, 10),
    "bad": (15, 14, 14, 14, 21, 22),
}
PAYER_MIX = (35, 35, 20, 10)
PARTIAL_SHARE = {"good": 0.02, "average": 0.04, "late": 0.08, "bad": 0.10}
PARTIAL_PAYMENTS = ((20,), (25,), (30,), (40,), (50,), (60,), (25, 25), (30, 20))
CREDIT_SHARE = 0.04
CREDIT_PERCENTS = (10, 15, 20, 25, 50, 100)
CANCELLED_CREDIT_NOTES = 2


@dataclass
class Customer:
    """One demo customer, with what its contacts and ledger are drawn from."""

    number: str
    name: str
    domain: str
    address: str
    postal_code: str
    city: str
    country: str
    language: str
    currency: str
    terms: int
    segment: str
    manager: str
    phone: str
    phone_pattern: str
    payer: str


@dataclass(eq=False)
class Item:
    """One ledger row, dated in days before the as-of date until it is written."""

    customer: Customer
    doc_type: str
    age: int  # days from the issue date to the as-of date
    amount: Decimal
    label: str  # may still hold {period} and {ref}, filled when written
    terms: int = 0  # days from the issue date to the due date
    status: str = POSTED
    letter: str = ""
    ref: Item | None = None  # the invoice a credit note is about
    gap: int = 1  # step from the previous number; more: documents since settled


# ---------------------------------------------------------------------------
# Entry points


def write_files(folder: Path, as_of: dt.date) -> dict[str, Path]:
    """Write the demo customers, contacts and items as French CSV files in `folder`."""
    customers, contacts, items = _generate()
    tables = {
        "customers": (CUSTOMER_HEADER, [_customer_row(c) for c in customers]),
        "contacts": (CONTACT_HEADER, contacts),
        "items": (ITEM_HEADER, _item_rows(items, as_of)),
    }
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for kind, (header, rows) in tables.items():
        paths[kind] = folder / FILE_NAMES[kind]
        _write_csv(paths[kind], header, rows)
    return paths


def build(
    con: duckdb.DuckDBPyConnection, as_of: dt.date | None = None
) -> dict[str, int]:
    """Replace the workspace's contents by the demo ledger at an as-of date."""
    as_of = as_of or clock.today()
    with tempfile.TemporaryDirectory(prefix="dunning-demo-") as folder:
        paths = write_files(Path(folder), as_of)
        _empty_workspace(con)
        for kind in ("customers", "contacts", "items"):
            _import(con, paths[kind], kind, as_of)
    store.set_setting(con, "workspace.demo", True)
    _company(con)
    counts = {
        table: con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in ("customers", "contacts", "items")
    }
    log.info("demo workspace built at %s: %s", as_of, counts)
    return counts


# The demo's own company, so that letters and emails print a sender; the domain is
# reserved for examples (RFC 2606) and the IBAN is the published French example.
DEMO_COMPANY = {
    "company.name": "Démo Distribution SAS",
    "company.address": "12 rue des Tanneurs\n69002 Lyon\nFrance",
    "company.iban": "FR76 3000 6000 0112 3456 7890 189",
    "sender.name": "Claire Martin",
    "sender.email": "relances@demo-distribution.example",
    "sender.phone": "+33 4 72 00 00 00",
}


def _company(con: duckdb.DuckDBPyConnection) -> None:
    """Fill the company and sender settings the user has left empty."""
    for key, value in DEMO_COMPANY.items():
        if not store.get_setting(con, key):
            store.set_setting(con, key, value)


def amount_text(value: Decimal) -> str:
    """An amount as a French ledger export writes it: `-1 234,56`."""
    text = f"{money.to_cents(value):,.2f}"
    return text.replace(",", " ").replace(".", ",")


def _empty_workspace(con: duckdb.DuckDBPyConnection) -> None:
    with store.transaction(con):
        store.clear_data(con)


def _import(
    con: duckdb.DuckDBPyConnection, path: Path, kind: str, as_of: dt.date
) -> None:
    """Import one demo file as a user would; rejected rows are a bug in the demo."""
    options = importing.Options(kind=kind, as_of=as_of, force=True)
    report = importing.import_file(con, path, options)
    if report.rows_rejected:
        log.warning(
            "demo %s: %s row(s) rejected by import %s",
            kind,
            report.rows_rejected,
            report.import_id,
        )


# ---------------------------------------------------------------------------
# Drawing the ledger


def _generate() -> tuple[list[Customer], list[list[str]], list[Item]]:
    """The whole demo, drawn in one fixed order from one seeded generator."""
    rng = random.Random(SEED)
    sources = _load_sources()
    customers = _customers(rng, sources)
    contacts = _contacts(rng, sources, customers)
    letters = _letter_codes()
    items = [item for c in customers for item in _ledger(rng, sources, c, letters)]
    _cancel_credit_notes(rng, items)
    for item in items:
        item.gap = rng.choices((1, 2, 3, 6), weights=(70, 18, 8, 4))[0]
    return customers, contacts, items


def _load_sources(folder: Path = SOURCE_DIR) -> dict[str, list[dict[str, str]]]:
    return {name: _read_list(folder / f"{name}.csv") for name in SOURCES}


def _read_list(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def _pick(rng: random.Random, rows: list[dict[str, str]], **match) -> dict[str, str]:
    """One row drawn among those whose columns hold the given values."""
    choices = [r for r in rows if all(r[k] == v for k, v in match.items())]
    if not choices:
        raise ValueError(f"no row of the demo lists in {SOURCE_DIR} matches {match}")
    return rng.choice(choices)


def _letter_codes() -> Iterator[str]:
    """Lettering codes as accounting software writes them: AAA, AAB, ..."""
    for letters in itertools.product(string.ascii_uppercase, repeat=3):
        yield "".join(letters)


# ---------------------------------------------------------------------------
# Customers and contacts


def _customers(rng: random.Random, sources) -> list[Customer]:
    """Sixty customers in a shuffled order, each numbered and drawn in turn."""
    plan = _customer_plan(rng)
    numbers = _customer_numbers(rng, len(plan))
    managers = _account_managers(rng, sources)
    taken: set[str] = set()
    return [
        _customer(rng, sources, number, profile, managers, taken)
        for number, profile in zip(numbers, plan, strict=True)
    ]


def _customer_plan(rng: random.Random) -> list[tuple[str, str, str]]:
    """(country, language, segment) of every customer, from the fixed mix above."""
    exports = [s for s, count in EXPORT_SEGMENTS.items() for _ in range(count)]
    places = [c for c, count in EXPORT_COUNTRIES.items() for _ in range(count)]
    rng.shuffle(exports)
    plan = [
        (country, "en", segment)
        for country, segment in zip(places, exports, strict=True)
    ]
    for segment, count in DOMESTIC_SEGMENTS.items():
        plan += [("FR", "fr", segment)] * count
    rng.shuffle(plan)
    return plan


def _customer_numbers(rng: random.Random, count: int) -> list[str]:
    """Increasing customer numbers with the holes of customers long gone."""
    numbers, current = [], rng.randint(8, 20)
    for _ in range(count):
        numbers.append(f"C{current:05d}")
        current += rng.randint(3, 45)
    return numbers


def _account_managers(rng: random.Random, sources) -> list[str]:
    firsts = [r["name"] for r in sources["first_names"] if r["language"] == "fr"]
    lasts = [r["name"] for r in sources["last_names"] if r["language"] == "fr"]
    pairs = zip(
        rng.sample(firsts, ACCOUNT_MANAGERS),
        rng.sample(lasts, ACCOUNT_MANAGERS),
        strict=True,
    )
    return [f"{first} {last}" for first, last in pairs]


def _customer(rng, sources, number, profile, managers, taken) -> Customer:
    """One customer: a name, an address and terms that fit its country and segment."""
    country, language, segment = profile
    place = _pick(rng, sources["cities"], country=country)
    base = _company_base(rng, sources, segment, country, language, place, taken)
    form = _pick(rng, _legal_forms(sources, country, segment))["form"]
    street = _pick(rng, sources["streets"], country=country)["street"]
    return Customer(
        number=number,
        name=f"{base} {form}".strip(),
        domain=f"{_slug(base)}.example",
        address=f"{rng.randint(*STREET_NUMBERS[country])} {street}",
        postal_code=place["postal_code"],
        city=place["city"],
        country=country,
        language=language,
        currency=CURRENCIES[country],
        terms=rng.choice(TERMS[segment]),
        segment=segment,
        manager=managers[0] if segment == KEY_ACCOUNTS else rng.choice(managers[1:]),
        phone=_digits(rng, place["phone"]),
        phone_pattern=place["phone"],
        payer=rng.choices(list(PAYERS), weights=PAYER_MIX)[0],
    )


def _company_base(rng, sources, segment, country, language, place, taken) -> str:
    """A company name without its legal form, different from every other one."""
    while True:
        pattern = _pick(rng, sources["companies"], language=language, segment=segment)[
            "pattern"
        ]
        base = _fill_name(rng, sources, pattern, language, place["city"])
        if country == "FR" and language == "en":
            base = f"{base} France"
        if base not in taken:
            taken.add(base)
            return base


def _fill_name(rng, sources, pattern: str, language: str, city: str) -> str:
    def value(match: re.Match) -> str:
        kind = match.group(1)
        if kind == "of_city":
            return _of(city)
        if kind == "last":
            return _pick(rng, sources["last_names"], language=language)["name"]
        return _pick(rng, sources["words"], language=language, kind=kind)["value"]

    return re.sub(r"\{(\w+)\}", value, pattern)


def _of(city: str) -> str:
    """'de Nantes', 'd'Angers', 'du Havre': the French 'of' before a city name."""
    if city.startswith("Le "):
        return f"du {city[3:]}"
    if city.startswith("Les "):
        return f"des {city[4:]}"
    if _slug(city)[:1] in tuple("aeiouy"):
        return f"d'{city}"
    return f"de {city}"


def _legal_forms(sources, country: str, segment: str) -> list[dict[str, str]]:
    rows = sources["legal_forms"]
    return [
        r for r in rows if r["country"] == country and r["segment"] in (segment, "*")
    ]


def _slug(text: str) -> str:
    """Lower-case ASCII words joined by hyphens, for email domains and mailboxes."""
    plain = unicodedata.normalize("NFKD", text.replace("&", " and "))
    plain = plain.encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-")


def _digits(rng: random.Random, pattern: str) -> str:
    return "".join(str(rng.randint(0, 9)) if ch == "#" else ch for ch in pattern)


def _contacts(rng: random.Random, sources, customers) -> list[list[str]]:
    """Contact rows; a few customers (never key accounts) have none at all."""
    others = [c.number for c in customers if c.segment != KEY_ACCOUNTS]
    silent = set(rng.sample(others, SILENT_CUSTOMERS))
    rows = []
    for customer in customers:
        if customer.number not in silent:
            rows += _customer_contacts(rng, sources, customer)
    return rows


def _customer_contacts(rng: random.Random, sources, customer) -> list[list[str]]:
    """Most customers name whom to chase; some only a billing address."""
    roles = ["relance"] if rng.random() < 0.8 else []
    if not roles or rng.random() < 0.45:
        roles.append("facturation")
    if rng.random() < 0.3:
        roles.append("direction")
    if rng.random() < 0.12:
        roles.append("")
    rows: list[list[str]] = []
    for role in roles:
        row = _contact(rng, sources, customer, role)
        while row[3] in {r[3] for r in rows}:
            row = _contact(rng, sources, customer, role)
        rows.append(row)
    return rows


def _contact(rng: random.Random, sources, customer, role: str) -> list[str]:
    """A shared mailbox for some accounting roles, else a named person."""
    if role in ("relance", "facturation") and rng.random() < 0.35:
        box = _pick(rng, sources["mailboxes"], language=customer.language, role=role)
        email = f"{box['mailbox']}@{customer.domain}"
        return [customer.number, box["name"], role, email, ""]
    first = _pick(rng, sources["first_names"], language=customer.language)["name"]
    last = _pick(rng, sources["last_names"], language=customer.language)["name"]
    email = f"{_slug(first)}.{_slug(last)}@{customer.domain}"
    phone = ""
    if rng.random() < 0.6:
        mobile = customer.country == "FR" and rng.random() < 0.5
        phone = _digits(rng, FRENCH_MOBILE if mobile else customer.phone_pattern)
    return [customer.number, f"{first} {last}", role, email, phone]


# ---------------------------------------------------------------------------
# Items


def _ledger(rng: random.Random, sources, customer, letters) -> list[Item]:
    """A customer's items: open invoices, then what was paid, credited or settled."""
    count = rng.randint(*VOLUMES[customer.segment])
    invoices = [_invoice(rng, sources, customer) for _ in range(count)]
    items = list(invoices)
    items += _partial_payments(rng, sources, invoices, letters)
    items += _credit_notes(rng, sources, invoices, letters)
    items += _settled_groups(rng, sources, customer, letters)
    items += _unallocated_payments(rng, sources, customer, invoices)
    _qualify(rng, invoices)
    return items


def _invoice(rng, sources, customer: Customer, age: int | None = None) -> Item:
    if age is None:
        age = _invoice_age(rng, customer)
    amount = _invoice_amount(rng, customer)
    label = _label(rng, sources, customer, INVOICE)
    return Item(customer, INVOICE, age, amount, label, terms=customer.terms)


def _invoice_age(rng: random.Random, customer: Customer) -> int:
    """Days since issue, drawn so that days late fall in the payer's usual buckets."""
    low, high = rng.choices(LATENESS, weights=PAYERS[customer.payer])[0]
    low = max(low, -customer.terms)
    high = min(high, HISTORY_DAYS - customer.terms)
    return customer.terms + rng.randint(low, high)


def _invoice_amount(rng: random.Random, customer: Customer) -> Decimal:
    """An amount including VAT: most invoices small, a few near the segment's top.

    Prices are drawn in whole cents. Domestic invoices carry 20 % French VAT,
    rounded half-up to the cent; exports to Britain and the United States are
    invoiced without VAT.
    """
    low, high = PRICES[customer.segment]
    span = high - low
    reach = rng.choices((span // 10, span * 3 // 10, span), weights=(55, 30, 15))[0]
    price = Decimal(rng.randint(low * 100, (low + reach) * 100)) / 100
    rate = FRENCH_VAT if customer.country == "FR" else Decimal(1)
    return money.to_cents(price * rate)


def _share(amount: Decimal, percent: int) -> Decimal:
    """A percentage of an amount, rounded half-up to the cent."""
    return money.to_cents(amount * percent / 100)


def _label(rng, sources, customer: Customer, doc_type: str, ref=None) -> str:
    """A label in the customer's language; {period} and {ref} are filled later."""
    rows = [
        r
        for r in sources["labels"]
        if r["language"] == customer.language
        and r["doc_type"] == doc_type
        and ("{ref}" in r["label"]) == (ref is not None)
    ]
    label = rng.choice(rows)["label"]
    label = label.replace("{n}", str(rng.randint(10000, 99999)))
    return label.replace("{po}", str(rng.randint(4500000000, 4509999999)))


def _payment(rng, sources, customer, amount: Decimal, age: int, letter="") -> Item:
    label = _label(rng, sources, customer, PAYMENT)
    return Item(customer, PAYMENT, age, amount, label, letter=letter)


def _partial_payments(rng, sources, invoices: list[Item], letters) -> list[Item]:
    """Payments of part of an invoice, lettered with it and dated after it."""
    payments = []
    for invoice in invoices:
        customer = invoice.customer
        if invoice.age < 20 or rng.random() >= PARTIAL_SHARE[customer.payer]:
            continue
        invoice.letter = next(letters)
        for percent in rng.choice(PARTIAL_PAYMENTS):
            amount = -_share(invoice.amount, percent)
            age = rng.randint(0, invoice.age - 10)
            payments.append(
                _payment(rng, sources, customer, amount, age, invoice.letter)
            )
    return payments


def _credit_notes(rng, sources, invoices: list[Item], letters) -> list[Item]:
    """Credit notes on some invoices: a third lettered with theirs, the rest not."""
    notes = []
    for invoice in invoices:
        if rng.random() >= CREDIT_SHARE:
            continue
        amount = -_share(invoice.amount, rng.choice(CREDIT_PERCENTS))
        label = _label(rng, sources, invoice.customer, CREDIT_NOTE, ref=invoice)
        age = rng.randint(0, invoice.age)
        note = Item(invoice.customer, CREDIT_NOTE, age, amount, label, ref=invoice)
        if not invoice.letter and rng.random() < 0.35:
            invoice.letter = note.letter = next(letters)
        notes.append(note)
    return notes


def _settled_groups(rng, sources, customer: Customer, letters) -> list[Item]:
    """Invoices paid in full, still listed with the payments lettered to them."""
    items = []
    for _ in range(rng.choices((0, 1, 2), weights=(72, 22, 6))[0]):
        invoice = _invoice(rng, sources, customer, rng.randint(45, HISTORY_DAYS))
        invoice.letter = next(letters)
        items += [invoice, *_settlement(rng, sources, invoice)]
    return items


def _settlement(rng, sources, invoice: Item) -> list[Item]:
    """A credit note (sometimes) and one or two payments that sum to the invoice."""
    customer, rest, parts = invoice.customer, invoice.amount, []
    if rng.random() < 0.25:
        credit = _share(invoice.amount, rng.choice((10, 15, 20)))
        label = _label(rng, sources, customer, CREDIT_NOTE, ref=invoice)
        age = rng.randint(5, invoice.age)
        parts.append(Item(customer, CREDIT_NOTE, age, -credit, label, ref=invoice))
        parts[-1].letter = invoice.letter
        rest -= credit
    instalments = [_share(rest, 50)] if rng.random() < 0.3 else []
    instalments.append(rest - sum(instalments, money.ZERO))
    for amount in instalments:
        age = rng.randint(0, invoice.age - 5)
        parts.append(_payment(rng, sources, customer, -amount, age, invoice.letter))
    return parts


def _unallocated_payments(rng, sources, customer, invoices: list[Item]) -> list[Item]:
    """Money received but not yet matched: an invoice's amount or a round sum."""
    payments = []
    for _ in range(rng.choices((0, 1, 2), weights=(70, 22, 8))[0]):
        amount = rng.choice(invoices).amount
        if rng.random() < 0.5:
            amount = max(Decimal(50), (amount // 100) * 100)
        age = rng.randint(0, 90)
        payments.append(_payment(rng, sources, customer, -money.to_cents(amount), age))
    return payments


def _qualify(rng: random.Random, invoices: list[Item]) -> None:
    """Mark disputes and payment promises on a few overdue, unlettered invoices."""
    for status, chance, most in ((DISPUTED, 0.18, 3), (PROMISED, 0.22, 2)):
        overdue = [
            i
            for i in invoices
            if i.age > i.terms and not i.letter and i.status == POSTED
        ]
        if overdue and rng.random() < chance:
            count = min(len(overdue), rng.randint(1, most))
            for invoice in rng.sample(overdue, count):
                invoice.status = status


def _cancel_credit_notes(rng: random.Random, items: list[Item]) -> None:
    notes = [i for i in items if i.doc_type == CREDIT_NOTE and not i.letter]
    for note in rng.sample(notes, CANCELLED_CREDIT_NOTES):
        note.status = CANCELLED


# ---------------------------------------------------------------------------
# Writing the files


def _customer_row(customer: Customer) -> list[str]:
    c = customer
    return [
        c.number, c.name, c.address, c.postal_code, c.city, c.country, c.language,
        c.currency, str(c.terms), c.segment, c.manager, c.phone,
    ]  # fmt: skip


def _item_rows(items: list[Item], as_of: dt.date) -> list[list[str]]:
    """Rows by customer, oldest first, as a ledger export lists them."""
    numbers = _document_numbers(items, as_of)
    ordered = sorted(items, key=lambda item: (item.customer.number, -item.age))
    return [_item_row(item, numbers, as_of) for item in ordered]


def _document_numbers(items: list[Item], as_of: dt.date) -> dict[Item, str]:
    """Numbers per type and year in issue order, as an invoicing system gives them.

    A number follows the date (the seller's pace through the year) and never goes
    back, and it skips the item's gap: the documents in between are settled and
    no longer in the ledger. Numbers are unique per type, hence per customer.
    """
    numbers: dict[Item, str] = {}
    counters: dict[tuple[str, int], int] = {}
    for item in sorted(items, key=lambda item: -item.age):
        issued = as_of - dt.timedelta(days=item.age)
        key = (item.doc_type, issued.year)
        by_date = issued.timetuple().tm_yday * NUMBERING_PACE[item.doc_type] // 10
        counters[key] = max(counters.get(key, 0) + item.gap, by_date)
        numbers[item] = f"{PREFIXES[item.doc_type]}-{issued.year}-{counters[key]:04d}"
    return numbers


def _item_row(item: Item, numbers: dict[Item, str], as_of: dt.date) -> list[str]:
    """One ledger row; the open amount is the full amount, lettering does the rest."""
    issued = as_of - dt.timedelta(days=item.age)
    due = issued + dt.timedelta(days=item.terms)
    ref = numbers[item.ref] if item.ref is not None else ""
    label = item.label.replace("{period}", f"{issued:%m/%Y}").replace("{ref}", ref)
    customer = item.customer
    return [
        customer.number, customer.name, item.doc_type, numbers[item], label,
        f"{issued:%d/%m/%Y}", f"{due:%d/%m/%Y}", amount_text(item.amount),
        amount_text(item.amount), customer.currency, item.status, item.letter,
    ]  # fmt: skip


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)

"""Column mapping: which column of a file holds which field, from French and English
names; what kind of file it is (items, customers, contacts); saved mappings."""

from __future__ import annotations

import json
import re
import unicodedata

import duckdb

from dunning.errors import ImportRefused, NotFound

# Each field with the column names it is known by, written normalised
# (lower case, no accents, words separated by one space; camelCase is split).
ALIASES: dict[str, list[str]] = {
    "customer_number": [
        "code client",
        "n client",
        "no client",
        "num client",
        "numero client",
        "numero de client",
        "client",
        "compte client",
        "code tiers",
        "tiers",
        "id client",
        "ref client",
        "reference client",
        "customer",
        "customer id",
        "customer number",
        "customer no",
        "customer code",
        "customer nr",
        "account",
        "account number",
        "account no",
        "debtor",
        "debtor number",
        "client id",
        "client number",
        "compauxnum",
    ],
    "customer_name": [
        "raison sociale",
        "nom",
        "nom client",
        "nom du client",
        "client nom",
        "societe",
        "denomination",
        "entreprise",
        "customer name",
        "name",
        "company",
        "company name",
        "client name",
        "account name",
        "debtor name",
        "compauxlib",
    ],
    "doc_type": [
        "type",
        "type piece",
        "type de piece",
        "type document",
        "type de document",
        "nature",
        "nature piece",
        "document type",
        "doc type",
        "type doc",
        "transaction type",
    ],
    "doc_number": [
        "n piece",
        "no piece",
        "numero piece",
        "numero de piece",
        "num piece",
        "piece",
        "ref piece",
        "reference piece",
        "facture",
        "n facture",
        "no facture",
        "numero facture",
        "numero de facture",
        "invoice",
        "invoice number",
        "invoice no",
        "invoice nr",
        "invoice id",
        "document",
        "document number",
        "document no",
        "doc number",
        "doc no",
        "pieceref",
    ],
    "reference": [
        "libelle",
        "libelle piece",
        "reference",
        "ref",
        "label",
        "description",
        "designation",
        "objet",
        "memo",
        "commentaire piece",
        "ecriturelib",
        "your reference",
        "po number",
    ],
    "issue_date": [
        "date piece",
        "date de piece",
        "date facture",
        "date de facture",
        "date",
        "date document",
        "date emission",
        "date d emission",
        "invoice date",
        "document date",
        "issue date",
        "doc date",
        "posting date",
        "piecedate",
    ],
    "due_date": [
        "echeance",
        "date echeance",
        "date d echeance",
        "date de l echeance",
        "date limite",
        "date limite de paiement",
        "due date",
        "due",
        "due on",
        "payment due date",
        "date due",
        "net due date",
    ],
    "amount": [
        "montant",
        "montant ttc",
        "ttc",
        "total ttc",
        "montant facture",
        "montant initial",
        "montant origine",
        "montant d origine",
        "amount",
        "invoice amount",
        "gross amount",
        "original amount",
        "total amount",
        "document amount",
        "amount incl vat",
        "total",
    ],
    "open_amount": [
        "reste du",
        "reste a payer",
        "restant du",
        "montant du",
        "montant restant",
        "montant restant du",
        "solde",
        "solde du",
        "solde restant",
        "open amount",
        "outstanding",
        "outstanding amount",
        "amount due",
        "balance",
        "balance due",
        "remaining",
        "remaining amount",
        "open",
        "amount open",
        "residual",
    ],
    "currency": ["devise", "monnaie", "currency", "currency code", "ccy", "cur"],
    "paid_date": [
        "date de reglement",
        "date reglement",
        "date de paiement",
        "date paiement",
        "date du reglement",
        "date solde",
        "date de solde",
        "settled date",
        "settlement date",
        "paid date",
        "payment date",
        "date paid",
        "cleared on",
        "clearing date",
    ],
    "status": ["statut", "status", "etat", "state", "statut piece"],
    "disputed": [
        "litige",
        "en litige",
        "contestation",
        "conteste",
        "disputed",
        "dispute",
        "in dispute",
    ],
    "letter": [
        "lettrage",
        "lettre",
        "code lettrage",
        "let",
        "matching",
        "match",
        "matching code",
        "clearing",
        "clearing document",
        "allocation",
        "lettering",
    ],
    "segment": [
        "segment",
        "categorie",
        "categorie client",
        "famille client",
        "secteur",
        "category",
        "customer segment",
        "customer group",
        "type client",
    ],
    "account_manager": [
        "commercial",
        "gestionnaire",
        "charge de recouvrement",
        "responsable",
        "account manager",
        "sales rep",
        "salesperson",
        "credit controller",
        "collector",
        "owner",
    ],
    "country": ["pays", "code pays", "country", "country code"],
    "language": ["langue", "language", "lang", "locale"],
    "email": [
        "email",
        "e mail",
        "mail",
        "courriel",
        "adresse email",
        "adresse mail",
        "adresse e mail",
        "email address",
        "e mail address",
    ],
    "contact_name": [
        "contact",
        "nom contact",
        "nom du contact",
        "interlocuteur",
        "contact name",
        "contact person",
    ],
    "role": ["role", "fonction", "type contact", "type de contact", "contact role"],
    "phone": [
        "telephone",
        "tel",
        "phone",
        "phone number",
        "telephone number",
        "mobile",
        "portable",
    ],
    "address": [
        "adresse",
        "adresse postale",
        "rue",
        "address",
        "street",
        "address line 1",
        "postal address",
    ],
    "postal_code": ["code postal", "cp", "postal code", "zip", "zip code", "postcode"],
    "city": ["ville", "commune", "city", "town"],
    "payment_terms_days": [
        "delai de paiement",
        "delai paiement",
        "conditions de paiement",
        "delai",
        "payment terms",
        "terms",
        "payment terms days",
        "terms days",
    ],
    "penalty_rule": [
        "regle penalites",
        "regle de penalites",
        "regle penalite",
        "penalites",
        "penalty rule",
    ],
    "penalty_rate": [
        "taux penalites",
        "taux penalite",
        "taux de penalite",
        "taux de penalites",
        "taux d interet",
        "penalty rate",
        "interest rate",
    ],
    "indemnity_enabled": [
        "indemnite",
        "indemnite forfaitaire",
        "indemnite de recouvrement",
        "indemnite forfaitaire de recouvrement",
        "indemnity",
        "indemnity enabled",
        "fixed indemnity",
        "recovery indemnity",
    ],
    "is_consumer": ["particulier", "consommateur", "consumer", "b2c"],
    "in_insolvency": [
        "procedure collective",
        "redressement",
        "insolvency",
        "insolvent",
    ],
}

# Fields each kind of file can carry, and the ones it needs.
KIND_FIELDS = {
    "items": [
        "customer_number",
        "customer_name",
        "doc_type",
        "doc_number",
        "reference",
        "issue_date",
        "due_date",
        "amount",
        "open_amount",
        "currency",
        "paid_date",
        "status",
        "disputed",
        "letter",
        "segment",
        "account_manager",
        "country",
        "language",
        "email",
        "contact_name",
        "phone",
    ],
    "customers": [
        "customer_number",
        "customer_name",
        "phone",
        "address",
        "postal_code",
        "city",
        "country",
        "language",
        "currency",
        "payment_terms_days",
        "segment",
        "account_manager",
        "penalty_rule",
        "penalty_rate",
        "indemnity_enabled",
        "is_consumer",
        "in_insolvency",
        "email",
        "contact_name",
    ],
    "contacts": [
        "customer_number",
        "customer_name",
        "contact_name",
        "role",
        "email",
        "phone",
    ],
}
REQUIRED = {
    "items": ["customer_number", "doc_number"],
    "customers": ["customer_number"],
    "contacts": ["customer_number", "email"],
}
KINDS = tuple(KIND_FIELDS)

FIELD_LABELS = {
    "customer_number": "Customer number",
    "customer_name": "Customer name",
    "doc_type": "Document type",
    "doc_number": "Document number",
    "reference": "Reference / label",
    "issue_date": "Issue date",
    "due_date": "Due date",
    "amount": "Original amount",
    "open_amount": "Open amount",
    "currency": "Currency",
    "paid_date": "Paid date",
    "status": "Status",
    "disputed": "Disputed (yes/no)",
    "letter": "Lettering / matching group",
    "segment": "Segment",
    "account_manager": "Account manager",
    "country": "Country",
    "language": "Language",
    "email": "Email",
    "contact_name": "Contact name",
    "role": "Contact role",
    "phone": "Phone",
    "address": "Address",
    "postal_code": "Postal code",
    "city": "City",
    "payment_terms_days": "Payment terms (days)",
    "penalty_rule": "Penalty rule",
    "penalty_rate": "Penalty rate (%)",
    "indemnity_enabled": "Fixed indemnity (yes/no)",
    "is_consumer": "Consumer",
    "in_insolvency": "Insolvency proceedings",
}

_LOOKUP = {alias: field for field, names in ALIASES.items() for alias in names}


def normalise(name: str) -> str:
    """A column name reduced for matching: 'N° pièce' -> 'n piece'."""
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", str(name))
    text = re.sub(r"(?<=[A-Z])(?=[A-Z][a-z])", " ", text)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = text.replace("°", " ").replace("º", " ")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def field_for(name: str) -> str | None:
    """The field a column name stands for, if it is a known name."""
    return _LOOKUP.get(normalise(name))


def looks_like_header(names: list[str]) -> bool:
    """True when at least two cells of a row are known column names."""
    return sum(1 for name in names if field_for(name)) >= 2


def auto_mapping(columns: list[str], kind: str | None = None) -> dict[str, str]:
    """Map fields to the file's columns by name; the first column wins a field."""
    allowed = set(KIND_FIELDS[kind]) if kind else set(ALIASES)
    mapping: dict[str, str] = {}
    for column in columns:
        field = field_for(column)
        if field and field in allowed and field not in mapping:
            mapping[field] = column
    if kind == "contacts":
        _bare_name_is_the_contact(mapping)
    return mapping


# Headers that say "name" and nothing more: in a contacts file, the person's name.
BARE_NAMES = {"nom", "name", "nom prenom", "prenom nom", "full name"}


def _bare_name_is_the_contact(mapping: dict[str, str]) -> None:
    """In a contacts file a column headed just "Nom" or "Name" is the contact's
    name, not the customer's, unless another column already gives the contact's."""
    column = mapping.get("customer_name")
    if column and "contact_name" not in mapping and normalise(column) in BARE_NAMES:
        mapping["contact_name"] = mapping.pop("customer_name")


def detect_kind(mapping: dict[str, str]) -> str:
    """items, customers or contacts, from the fields the columns provide."""
    if "doc_number" in mapping and ({"amount", "open_amount"} & mapping.keys()):
        return "items"
    if "email" in mapping and ({"contact_name", "role"} & mapping.keys()):
        return "contacts"
    if "customer_number" in mapping:
        return "customers"
    raise ImportRefused(
        "The file's columns were not recognised: no column looks like a customer "
        "number (e.g. 'Code client', 'customerID'). Map the columns yourself or "
        "give --mapping."
    )


def check_mapping(mapping: dict[str, str], columns: list[str], kind: str) -> None:
    """Refuse a mapping that names missing columns or lacks a required field."""
    for field, column in mapping.items():
        if field not in KIND_FIELDS[kind]:
            raise ImportRefused(
                f"The field {field!r} does not belong in a {kind} file; "
                f"known fields: {', '.join(KIND_FIELDS[kind])}."
            )
        if column not in columns:
            raise ImportRefused(
                f"The mapping puts {field} in column {column!r}, which the file does "
                f"not have. Its columns are: {', '.join(columns)}."
            )
    missing = [f for f in REQUIRED[kind] if f not in mapping]
    if kind == "items" and not ({"amount", "open_amount"} & mapping.keys()):
        missing.append("amount or open_amount")
    if missing:
        names = ", ".join(FIELD_LABELS.get(f, f) for f in missing)
        raise ImportRefused(
            f"No column is mapped to: {names}. Map it in the import screen or with "
            "--mapping (a saved mapping name or a JSON file)."
        )


def save(con: duckdb.DuckDBPyConnection, name: str, kind: str, mapping: dict) -> None:
    """Save a mapping under a name, replacing one of the same name."""
    if not name.strip():
        raise ImportRefused("Give the mapping a name before saving it.")
    con.execute(
        "INSERT INTO mappings (name, kind, mapping) VALUES (?, ?, ?) "
        "ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, "
        "mapping = excluded.mapping, saved_at = now()",
        [name.strip(), kind, json.dumps(mapping)],
    )


def load(con: duckdb.DuckDBPyConnection, name: str) -> tuple[str, dict[str, str]]:
    """A saved mapping: its kind and fields."""
    row = con.execute(
        "SELECT kind, mapping FROM mappings WHERE name = ?", [name]
    ).fetchone()
    if row is None:
        known = saved_names(con)
        hint = f" Saved mappings: {', '.join(known)}." if known else ""
        raise NotFound(f"No saved mapping is named {name!r}.{hint}")
    return row[0], json.loads(row[1])


def saved_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Names of the saved mappings."""
    rows = con.execute("SELECT name FROM mappings ORDER BY name").fetchall()
    return [row[0] for row in rows]

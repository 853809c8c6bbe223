"""Column names to fields, the kind of a file, saved mappings."""

from __future__ import annotations

import pytest

from dunning import columns
from dunning.errors import ImportRefused, NotFound


@pytest.mark.parametrize(
    ("name", "normalised"),
    [
        pytest.param("N° pièce", "n piece", id="degree sign and accent"),
        pytest.param("customerID", "customer id", id="camelCase split"),
        pytest.param("InvoiceAmount", "invoice amount", id="PascalCase split"),
        pytest.param("Échéance", "echeance", id="capital accent"),
        pytest.param("Reste dû", "reste du", id="u circumflex"),
        pytest.param("Date d'échéance", "date d echeance", id="apostrophe"),
        pytest.param("  Montant   TTC ", "montant ttc", id="spaces collapsed"),
        pytest.param("N°client", "n client", id="degree sign glued"),
        pytest.param("E-mail", "e mail", id="hyphen"),
        pytest.param("ID", "id", id="all capitals stay one word"),
    ],
)
def test_normalise(name, normalised):
    assert columns.normalise(name) == normalised


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("N° pièce", "doc_number"),
        ("pièce", "doc_number"),
        ("Nº pièce", "doc_number"),
        ("facture", "doc_number"),
        ("invoiceNumber", "doc_number"),
        ("customerID", "customer_number"),
        ("n° client", "customer_number"),
        ("Code client", "customer_number"),
        ("client", "customer_number"),
        ("Raison sociale", "customer_name"),
        ("InvoiceAmount", "amount"),
        ("Montant TTC", "amount"),
        ("TTC", "amount"),
        ("montant", "amount"),
        ("Reste dû", "open_amount"),
        ("solde", "open_amount"),
        ("Échéance", "due_date"),
        ("Date échéance", "due_date"),
        ("DueDate", "due_date"),
        ("InvoiceDate", "issue_date"),
        ("Date pièce", "issue_date"),
        ("date de règlement", "paid_date"),
        ("SettledDate", "paid_date"),
        ("litige", "disputed"),
        ("Disputed", "disputed"),
        ("Libellé", "reference"),
        ("Devise", "currency"),
        ("Lettrage", "letter"),
        ("Type pièce", "doc_type"),
        ("Courriel", "email"),
        ("Fonction", "role"),
        ("countryCode", "country"),
        ("DaysLate", None),
        ("PaperlessBill", None),
    ],
)
def test_field_for(name, field):
    assert columns.field_for(name) == field


def test_auto_mapping_of_the_ibm_header():
    header = [
        *("countryCode", "customerID", "PaperlessDate", "invoiceNumber"),
        *("InvoiceDate", "DueDate", "InvoiceAmount", "Disputed", "SettledDate"),
        *("PaperlessBill", "DaysToSettle", "DaysLate"),
    ]
    assert columns.auto_mapping(header, "items") == {
        "country": "countryCode",
        "customer_number": "customerID",
        "doc_number": "invoiceNumber",
        "issue_date": "InvoiceDate",
        "due_date": "DueDate",
        "amount": "InvoiceAmount",
        "disputed": "Disputed",
        "paid_date": "SettledDate",
    }


def test_first_column_wins_a_field():
    mapping = columns.auto_mapping(["Code client", "Client", "Montant"], "items")
    assert mapping == {"customer_number": "Code client", "amount": "Montant"}


def test_auto_mapping_keeps_fields_of_the_kind():
    header = ["Code client", "Contact", "Fonction", "Email", "Montant"]
    assert columns.auto_mapping(header, "contacts") == {
        "customer_number": "Code client",
        "contact_name": "Contact",
        "role": "Fonction",
        "email": "Email",
    }


@pytest.mark.parametrize(
    ("fields", "kind"),
    [
        pytest.param(["customer_number", "doc_number", "amount"], "items", id="items"),
        pytest.param(["customer_number", "doc_number", "open_amount"], "items", id="o"),
        pytest.param(["customer_number", "contact_name", "email"], "contacts", id="c"),
        pytest.param(["customer_number", "role", "email"], "contacts", id="role"),
        pytest.param(["customer_number", "customer_name"], "customers", id="cust"),
        pytest.param(["customer_number", "doc_number"], "customers", id="no amount"),
    ],
)
def test_detect_kind(fields, kind):
    assert columns.detect_kind(dict.fromkeys(fields, "x")) == kind


def test_detect_kind_refuses_unknown_columns():
    with pytest.raises(ImportRefused, match="customerID"):
        columns.detect_kind({"reference": "Libellé"})


def test_looks_like_header():
    assert columns.looks_like_header(["Code client", "Montant"])
    assert not columns.looks_like_header(["Échéancier au 15/02/2026"])
    assert not columns.looks_like_header(["C00012", "1 234,56", "FA-2026-0041"])


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        pytest.param(
            {"customer_number": "Code client", "doc_number": "Pièce"},
            "amount or open_amount",
            id="no amount",
        ),
        pytest.param(
            {"customer_number": "Client", "doc_number": "Pièce", "amount": "Montant"},
            "'Client'",
            id="column not in the file",
        ),
        pytest.param(
            {"customer_number": "Code client", "penalty_rule": "Pièce"},
            "penalty_rule",
            id="field of another kind",
        ),
        pytest.param({"amount": "Montant"}, "Customer number", id="no customer"),
    ],
)
def test_check_mapping_refuses(mapping, message):
    file_columns = ["Code client", "Pièce", "Montant"]
    with pytest.raises(ImportRefused, match=message):
        columns.check_mapping(mapping, file_columns, "items")


def test_saved_mapping_round_trip(con):
    mapping = {"customer_number": "N° client", "doc_number": "Pièce"}
    columns.save(con, "Excel export", "items", mapping)
    columns.save(con, "Excel export", "items", {**mapping, "amount": "Montant"})
    assert columns.load(con, "Excel export") == (
        "items",
        {**mapping, "amount": "Montant"},
    )
    assert columns.saved_names(con) == ["Excel export"]


def test_unknown_saved_mapping_names_the_saved_ones(con):
    columns.save(con, "FEC", "items", {"customer_number": "CompAuxNum"})
    with pytest.raises(NotFound, match=r"'Sage'.*Saved mappings: FEC"):
        columns.load(con, "Sage")


def test_a_mapping_needs_a_name(con):
    with pytest.raises(ImportRefused, match="name"):
        columns.save(con, "  ", "items", {})


@pytest.mark.parametrize(
    ("name", "field_name"),
    [
        ("indemnity_enabled", "indemnity_enabled"),
        ("indemnity", "indemnity_enabled"),
        ("Indemnité", "indemnity_enabled"),
        ("indemnite_forfaitaire", "indemnity_enabled"),
        ("Indemnité forfaitaire de recouvrement", "indemnity_enabled"),
        ("penalty_rate", "penalty_rate"),
        ("Taux de pénalités", "penalty_rate"),
    ],
)
def test_penalty_setting_column_names(name, field_name):
    assert columns.field_for(name) == field_name
    assert field_name in columns.KIND_FIELDS["customers"]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        # A bare "Nom" beside a role and an email names the person.
        (["Code client", "Nom", "Rôle", "Email"], "contact_name"),
        (["customer", "Name", "role", "email"], "contact_name"),
        # With a contact column of its own, "Nom" stays the customer's name.
        (["Code client", "Nom", "Nom du contact", "Email"], "customer_name"),
        (["Code client", "Raison sociale", "Rôle", "Email"], "customer_name"),
    ],
)
def test_a_bare_name_column_of_a_contacts_file_is_the_contact(header, expected):
    mapping = columns.auto_mapping(header, "contacts")
    assert mapping[expected] == header[1]

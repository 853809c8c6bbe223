"""Customer records: editing details and settings, contacts, open items."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from dunning import customers, importing
from dunning.errors import InvalidValue, NotFound


@pytest.fixture
def ledger(con, data_file):
    importing.import_file(con, data_file("echeancier_clients_cp1252.csv"))
    return con


def test_created_from_items_with_workspace_defaults(ledger):
    record = customers.get(ledger, "C00027")
    assert record["name"] == "Société Générale d'Équipement Rhône"
    assert (record["language"], record["currency"]) == ("fr", "EUR")
    assert (record["payment_terms_days"], record["penalty_rule"]) == (30, "fr_legal")
    assert record["indemnity_enabled"] is True
    assert record["needs_review"] is True


def test_update_settings_clears_review_flag(ledger):
    record = customers.update(
        ledger,
        "C00027",
        {"penalty_rule": "fixed", "penalty_rate": "12,5", "payment_terms_days": "45"},
    )
    assert record["penalty_rate"] == Decimal("12.5000")
    assert (record["penalty_rule"], record["payment_terms_days"]) == ("fixed", 45)
    assert record["needs_review"] is False


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"penalty_rate": "abc"}, "Penalty rate"),
        ({"penalty_rate": "nan"}, "Penalty rate"),
        ({"penalty_rate": "150"}, "0 to 100"),
        ({"penalty_rule": "monthly"}, "Penalty rule"),
        ({"language": "de"}, "fr or en"),
        ({"payment_terms_days": 400}, "0 to 365"),
        ({"payment_terms_days": "12,5"}, "whole number"),  # not 125
        ({"payment_terms_days": "abc"}, "whole number"),
        ({"payment_terms_days": -3}, "whole number"),
        ({"penalty_rule": "fixed", "penalty_rate": ""}, "needs its annual rate"),
        ({"customer_number": "X"}, "cannot be edited"),
    ],
)
def test_invalid_values_are_refused_and_nothing_changes(ledger, changes, message):
    before = customers.get(ledger, "C00027")
    with pytest.raises(InvalidValue, match=message):
        customers.update(ledger, "C00027", changes)
    assert customers.get(ledger, "C00027") == before


def test_unknown_customer(ledger):
    with pytest.raises(NotFound, match="leading zeros"):
        customers.get(ledger, "27")


def test_open_items_oldest_due_first(ledger):
    items = customers.open_items(ledger, "C00012", dt.date(2026, 2, 15))
    assert [i["doc_number"] for i in items] == [
        "AV-2026-0003",  # due 20/01
        "FA-2026-0041",  # due 31/01
        "FA-2026-0077",  # due 14/02
    ]
    assert [i["days_late"] for i in items] == [0, 15, 1]


@pytest.mark.parametrize(
    ("field_name", "value", "flag"),
    [
        ("is_consumer", True, True),
        ("is_consumer", "oui", True),
        ("in_insolvency", "N", False),
        ("indemnity_enabled", "non", False),
        ("indemnity_enabled", "1", True),
        ("indemnity_enabled", "false", False),
    ],
)
def test_yes_no_settings(ledger, field_name, value, flag):
    record = customers.update(ledger, "C00027", {field_name: value})
    assert record[field_name] is flag


def test_an_unreadable_yes_no_is_refused(ledger):
    with pytest.raises(InvalidValue, match="Fixed indemnity 'maybe': write yes or no"):
        customers.update(ledger, "C00027", {"indemnity_enabled": "maybe"})

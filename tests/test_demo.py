"""The demo ledger: deterministic French files, a realistic mix, a clean import."""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from dunning import demo, store

AS_OF = dt.date(2025, 8, 14)


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def amount(text: str) -> Decimal:
    return Decimal(text.replace(" ", "").replace(",", "."))


def day(text: str) -> dt.date:
    return dt.datetime.strptime(text, "%d/%m/%Y").date()


@pytest.fixture(scope="module")
def paths(tmp_path_factory) -> dict[str, Path]:
    return demo.write_files(tmp_path_factory.mktemp("demo"), AS_OF)


@pytest.fixture(scope="module")
def files(paths) -> dict[str, list[dict[str, str]]]:
    return {kind: read(path) for kind, path in paths.items()}


# ---------------------------------------------------------------------------
# The files


def test_same_as_of_gives_identical_files(tmp_path):
    first = demo.write_files(tmp_path / "one", AS_OF)
    second = demo.write_files(tmp_path / "two", AS_OF)
    assert set(first) == {"customers", "contacts", "items"}
    for kind in first:
        assert first[kind].read_bytes() == second[kind].read_bytes(), kind


def test_another_as_of_moves_dates_only(tmp_path, files):
    later = demo.write_files(tmp_path, AS_OF + dt.timedelta(days=100))
    assert read(later["customers"]) == files["customers"]
    assert read(later["contacts"]) == files["contacts"]
    items = read(later["items"])
    assert [i["Montant TTC"] for i in items] == [
        i["Montant TTC"] for i in files["items"]
    ]
    shifted = {day(i["Date pièce"]) - dt.timedelta(days=100) for i in items}
    assert shifted == {day(i["Date pièce"]) for i in files["items"]}


def test_headers_are_the_french_export_ones(paths):
    first_lines = {
        kind: path.read_text(encoding="utf-8").splitlines()[0]
        for kind, path in paths.items()
    }
    assert first_lines == {
        "customers": "Code client;Raison sociale;Adresse;Code postal;Ville;Pays;"
        "Langue;Devise;Délai de paiement;Segment;Commercial;Téléphone",
        "contacts": "Code client;Contact;Rôle;Email;Téléphone",
        "items": "Code client;Raison sociale;Type pièce;N° pièce;Libellé;Date pièce;"
        "Date échéance;Montant TTC;Reste dû;Devise;Statut;Lettrage",
    }


def test_counts_are_in_range(files):
    assert 55 <= len(files["customers"]) <= 65
    assert 1300 <= len(files["items"]) <= 1700


def test_currencies_and_languages_all_occur(files):
    customers = files["customers"]
    assert {c["Devise"] for c in customers} == {"EUR", "USD", "GBP"}
    assert {c["Langue"] for c in customers} == {"fr", "en"}
    assert Counter(c["Devise"] for c in customers).most_common(1)[0][0] == "EUR"
    assert Counter(c["Langue"] for c in customers).most_common(1)[0][0] == "fr"
    assert {i["Devise"] for i in files["items"]} == {"EUR", "USD", "GBP"}


def test_every_customer_number_is_a_known_customer(files):
    numbers = [c["Code client"] for c in files["customers"]]
    assert len(set(numbers)) == len(numbers)
    assert all(re.fullmatch(r"C\d{5}", number) for number in numbers)
    assert {i["Code client"] for i in files["items"]} <= set(numbers)
    assert {c["Code client"] for c in files["contacts"]} <= set(numbers)


def test_customers_cover_every_segment(files):
    segments = Counter(c["Segment"] for c in files["customers"])
    assert set(segments) == {
        "Retail",
        "Industrie",
        "Services",
        "Public",
        "Grands comptes",
    }
    assert len({c["Commercial"] for c in files["customers"]}) >= 3


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("1234.56", "1 234,56"),  # space between thousands, comma before cents
        ("-12", "-12,00"),  # two decimals always
        ("1234567.8", "1 234 567,80"),
        ("0.5", "0,50"),
        ("999.995", "1 000,00"),  # half-up: 999.995 -> 1000.00
        ("-0.005", "-0,01"),  # half-up rounds away from zero
    ],
)
def test_amount_text(value, text):
    assert demo.amount_text(Decimal(value)) == text


def test_amounts_and_dates_are_written_the_french_way(files):
    pattern = re.compile(r"-?\d{1,3}( \d{3})*,\d{2}")
    for item in files["items"]:
        assert pattern.fullmatch(item["Montant TTC"]), item
        assert item["Reste dû"] == item["Montant TTC"], item
        assert day(item["Date échéance"]) >= day(item["Date pièce"]), item


def test_signs_follow_the_document_type(files):
    for item in files["items"]:
        sign = amount(item["Montant TTC"]) > 0
        assert sign == (item["Type pièce"] == "Facture"), item


def test_document_numbers_are_unique_and_follow_the_issue_year(files):
    prefixes = {"Facture": "FA", "Avoir": "AV", "Règlement": "RG"}
    keys = [(i["Code client"], i["Type pièce"], i["N° pièce"]) for i in files["items"]]
    assert len(set(keys)) == len(keys)
    for item in files["items"]:
        year = day(item["Date pièce"]).year
        prefix = prefixes[item["Type pièce"]]
        assert re.fullmatch(rf"{prefix}-{year}-\d{{4}}", item["N° pièce"]), item


def test_items_are_dated_in_the_fourteen_months_before_as_of(files):
    issued = [day(i["Date pièce"]) for i in files["items"]]
    assert min(issued) >= AS_OF - dt.timedelta(days=14 * 31)
    assert max(issued) <= AS_OF


def test_invoices_spread_over_every_aging_bucket(files):
    buckets = Counter()
    for item in files["items"]:
        if item["Type pièce"] == "Facture":
            late = (AS_OF - day(item["Date échéance"])).days
            bound = next(b for b in (0, 30, 60, 90, 10_000) if late <= b)
            buckets[bound] += 1
    total = sum(buckets.values())
    # not due, 1-30, 31-60, 61-90, 90+: each at least 5 % of the invoices
    assert set(buckets) == {0, 30, 60, 90, 10_000}
    assert all(count >= total * 0.05 for count in buckets.values()), buckets


def lettering_groups(items) -> dict[tuple[str, str], list[dict[str, str]]]:
    groups = defaultdict(list)
    for item in items:
        if item["Lettrage"]:
            groups[(item["Code client"], item["Lettrage"])].append(item)
    return groups


def test_lettering_holds_partial_payments_and_settled_groups(files):
    partial, settled = 0, 0
    for group in lettering_groups(files["items"]).values():
        invoices = [i for i in group if i["Type pièce"] == "Facture"]
        payments = [i for i in group if i["Type pièce"] == "Règlement"]
        assert len(invoices) == 1 and len(group) >= 2, group
        for payment in payments:
            assert day(payment["Date pièce"]) > day(invoices[0]["Date pièce"])
        total = sum(amount(i["Montant TTC"]) for i in group)
        assert total >= 0, group
        settled += total == 0
        partial += total > 0 and bool(payments)
    assert partial >= 20
    assert 5 <= settled <= 60


def test_statuses_include_disputes_promises_and_cancellations(files):
    statuses = Counter((i["Type pièce"], i["Statut"]) for i in files["items"])
    assert statuses[("Facture", "Litige")] >= 5
    assert statuses[("Facture", "Promesse")] >= 5
    assert 2 <= statuses[("Avoir", "Annulée")] <= 3
    assert sum(n for (_, s), n in statuses.items() if s == "Annulée") <= 3
    assert statuses[("Facture", "Comptabilisée")] > len(files["items"]) * 0.8


def test_unallocated_payments_and_credit_notes_occur(files):
    loose = Counter(i["Type pièce"] for i in files["items"] if not i["Lettrage"])
    assert loose["Règlement"] >= 10
    assert loose["Avoir"] >= 10


def test_contacts_reach_most_customers(files):
    customers = {c["Code client"] for c in files["customers"]}
    contacts = files["contacts"]
    with_email = {c["Code client"] for c in contacts if c["Email"]}
    chased = {c["Code client"] for c in contacts if c["Rôle"] == "relance"}
    billed_only = {c["Code client"] for c in contacts} - chased
    assert 2 <= len(customers - with_email) <= 3
    assert len(chased) > len(customers) / 2
    assert billed_only
    assert {c["Rôle"] for c in contacts} == {"relance", "facturation", "direction", ""}
    assert all(
        re.fullmatch(r"[a-z.-]+@[a-z0-9-]+\.example", c["Email"]) for c in contacts
    )


# ---------------------------------------------------------------------------
# Building the demo workspace through the importer


@pytest.fixture
def con(tmp_path):
    connection = store.connect(tmp_path / "workspace.duckdb")
    yield connection
    connection.close()


def test_build_loads_every_row(con, files):
    counts = demo.build(con, AS_OF)
    assert counts["customers"] == len(files["customers"])
    assert counts["contacts"] == len(files["contacts"])
    # Lettered payments become allocations and cancelled credit notes are skipped.
    assert 1200 <= counts["items"] < len(files["items"])
    rejected = con.execute("SELECT sum(rows_rejected) FROM imports").fetchone()[0]
    assert rejected == 0
    assert store.get_setting(con, "workspace.demo") is True


def test_build_replaces_what_the_workspace_held(con):
    con.execute(
        "INSERT INTO customers (customer_number, language, currency, "
        "payment_terms_days, penalty_rule, indemnity_enabled) "
        "VALUES ('X1', 'fr', 'EUR', 30, 'fr_legal', true)"
    )
    first = demo.build(con, AS_OF)
    second = demo.build(con, AS_OF)
    assert first == second
    assert con.execute("SELECT count(*) FROM imports").fetchone()[0] == 3
    known = con.execute("SELECT count(*) FROM customers WHERE customer_number = 'X1'")
    assert known.fetchone()[0] == 0


def test_build_defaults_to_today(con, monkeypatch):
    monkeypatch.setenv("DUNNING_TODAY", "2025-03-01")
    demo.build(con)
    newest = con.execute("SELECT max(issue_date) FROM items").fetchone()[0]
    assert dt.date(2025, 2, 1) <= newest <= dt.date(2025, 3, 1)


def test_partial_payment_leaves_the_difference_open(con, files):
    demo.build(con, AS_OF)
    checked = 0
    for (number, _), group in lettering_groups(files["items"]).items():
        if {i["Type pièce"] for i in group} != {"Facture", "Règlement"}:
            continue
        invoice = next(i for i in group if i["Type pièce"] == "Facture")
        expected = sum(amount(i["Montant TTC"]) for i in group)
        stored = con.execute(
            "SELECT open_amount FROM items WHERE customer_number = ? "
            "AND doc_number = ?",
            [number, invoice["N° pièce"]],
        ).fetchone()[0]
        assert stored == expected, invoice
        checked += 1
    assert checked >= 20

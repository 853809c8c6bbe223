"""Hashtags: every name of the catalogue on a small ledger, and how templates are read.

The ledger, at the as-of date 2025-08-14 (fr_legal, indemnity on; ECB 3.15 % on
1 Jan 2025, 2.15 % on 1 Jul 2025, so 13.15 % in H1 and 12.15 % in H2):
  C1 Atelier Dupont (fr)
    FA-1  1 000.00 due 2025-05-15: 91 days late; DESIGN 7's worked example:
          46 d x 13.15 % + 45 d x 12.15 % on 1000 / 365 = 31.55, indemnity 40.00
    FA-2    500.00 due 2025-09-30: not due
    AV-1   -100.00 credit note
    FA-3    200.00 due 2025-07-31: 14 days late, 200 x 12.15 % x 14 / 365 = 0.932
          -> 0.93, indemnity 40.00
  C2 Globex Ltd (en)
    INV-1 1 000.00 USD due 2025-06-30: 45 days, 1000 x 12.15 % x 45 / 365 = 14.979
          -> 14.98 USD, indemnity 40.00 EUR
    INV-2   250.00 EUR due 2025-07-15: 30 days, 250 x 12.15 % x 30 / 365 = 2.496
          -> 2.50 EUR, indemnity 40.00 EUR
"""

from __future__ import annotations

import datetime as dt

import pytest

from dunning import customers, hashtags, importing, penalties, settings, store

AS_OF = dt.date(2025, 8, 14)
LEDGER = """\
Code client;Raison sociale;Type pièce;N° pièce;Libellé;Date pièce;Date échéance;\
Montant TTC;Reste dû;Devise
C1;Atelier Dupont;Facture;FA-1;Maintenance mai;15/04/2025;15/05/2025;1 000,00;\
1 000,00;EUR
C1;Atelier Dupont;Facture;FA-2;Pièces;01/08/2025;30/09/2025;500,00;500,00;EUR
C1;Atelier Dupont;Avoir;AV-1;Remise;01/06/2025;01/06/2025;-100,00;-100,00;EUR
C1;Atelier Dupont;Facture;FA-3;Conseil;01/07/2025;31/07/2025;200,00;200,00;EUR
C2;Globex Ltd;Facture;INV-1;Services;01/06/2025;30/06/2025;1 000,00;1 000,00;USD
C2;Globex Ltd;Facture;INV-2;Support;01/07/2025;15/07/2025;250,00;250,00;EUR
"""
COMPANY = {
    "company.name": "Recouvra SAS",
    "company.address": "12 rue des Lilas\n69003 Lyon",
    "company.iban": "FR76 3000 6000 0112 3456 7890 189",
    "sender.name": "Julie Martin",
    "sender.email": "relances@recouvra.example",
    "sender.phone": "+33 4 72 00 00 00",
}


@pytest.fixture
def ledger(con, tmp_path):
    """The two customers above, with addresses, contacts and company settings."""
    path = tmp_path / "ledger.csv"
    path.write_text(LEDGER, encoding="utf-8")
    report = importing.import_file(con, path, importing.Options())
    assert report.committed and report.rows_loaded == 6, report.errors
    customers.update(
        con, "C1", {"address": "3 place Bellecour", "postal_code": "69002",
                    "city": "Lyon", "country": "FR"}
    )  # fmt: skip
    customers.update(
        con, "C2", {"language": "en", "address": "1 High Street",
                    "postal_code": "EC1A 1BB", "city": "London", "country": "GB"}
    )  # fmt: skip
    con.execute(
        "INSERT INTO contacts (customer_number, name, role, email) VALUES "
        "('C1', 'Mme Claire Dupont', 'dunning', 'claire@dupont.example'), "
        "('C2', 'Mr John Smith', 'billing', 'ap@globex.example')"
    )
    for key, value in COMPANY.items():
        store.set_setting(con, key, value)
    return con


def ids(con, *docs: str) -> list[int]:
    rows = con.execute(
        "SELECT item_id FROM items WHERE doc_number IN (SELECT unnest(?))", [list(docs)]
    ).fetchall()
    return [row[0] for row in rows]


# ---------------------------------------------------------------------------
# The catalogue


def test_the_catalogue_holds_every_hashtag_of_design_8():
    design = [
        "items_amount_selected",
        "items_amount_selected_late_penalties",
        "items_amount_selected_include_late_penalties",
        "items_list_selected",
        "items_list",
        "items_list_overdue",
        "items_list_not_due",
        "items_amount_overdue",
        "items_amount_late_penalties",
        "items_amount_overdue_include_late_penalties",
        "customer_name",
        "customer_number",
        "contact_name",
        "customer_address",
        "account_balance",
        "items_count_selected",
        "items_oldest_due_date",
        "items_max_days_late",
        "penalty_rate",
        "as_of_date",
        "today",
        "action_date",
        "company_name",
        "company_address",
        "company_iban",
        "company_logo",
        "sender_name",
        "sender_email",
        "sender_phone",
    ]
    assert sorted(hashtags.NAMES) == sorted(design)
    for hashtag in hashtags.CATALOGUE.values():
        assert hashtag.description.endswith(".") and len(hashtag.description) < 160


# Selection FA-1 + AV-1 of C1; every value worked out from the ledger above.
C1_VALUES = [
    ("items_amount_selected", "900,00 €"),  # 1000.00 - 100.00
    ("items_amount_selected_late_penalties", "71,55 €"),  # 31.55 + 40.00
    ("items_amount_selected_include_late_penalties", "971,55 €"),  # 900 + 71.55
    ("items_count_selected", 2),
    ("items_oldest_due_date", "15/05/2025"),
    ("items_max_days_late", 91),  # 2025-05-15 -> 2025-08-14
    ("items_amount_overdue", "1 200,00 €"),  # FA-1 1000 + FA-3 200
    ("items_amount_late_penalties", "112,48 €"),  # 71.55 + 0.93 + 40.00
    ("items_amount_overdue_include_late_penalties", "1 312,48 €"),  # 1200 + 112.48
    ("account_balance", "1 600,00 €"),  # 1000 + 500 - 100 + 200
    ("customer_name", "Atelier Dupont"),
    ("customer_number", "C1"),
    ("contact_name", "Mme Claire Dupont"),  # the dunning contact
    # FA-1's 46 days in H1 2025 at 3.15 + 10 %, its 45 days in H2 at 2.15 + 10 %
    ("penalty_rate", "13,15 % puis 12,15 %"),
    ("as_of_date", "14/08/2025"),
    ("today", "15/02/2026"),  # DUNNING_TODAY of the tests
    ("action_date", "14/08/2025"),  # none given: the as-of date
    ("company_name", "Recouvra SAS"),
    ("company_iban", "FR76 3000 6000 0112 3456 7890 189"),
    ("sender_name", "Julie Martin"),
    ("sender_email", "relances@recouvra.example"),
    ("sender_phone", "+33 4 72 00 00 00"),
]


@pytest.mark.parametrize(("name", "expected"), C1_VALUES, ids=[n for n, _ in C1_VALUES])
def test_value_of_each_hashtag_in_french(ledger, name, expected):
    values, warnings = hashtags.values(ledger, "C1", ids(ledger, "FA-1", "AV-1"), AS_OF)
    assert values[name] == expected
    assert warnings == []


def test_addresses_have_a_text_and_an_html_form(ledger):
    values, _ = hashtags.values(ledger, "C1", ids(ledger, "FA-1"), AS_OF)
    assert values["customer_address"].text == "3 place Bellecour\n69002 Lyon\nFR"
    assert (
        values["customer_address"].html == "3 place Bellecour<br>\n69002 Lyon<br>\nFR"
    )
    assert str(values["company_address"]) == "12 rue des Lilas\n69003 Lyon"
    assert values["company_logo"].text == ""  # no logo set: nothing, no warning


def test_logo_is_an_image_in_html_only(ledger):
    store.set_setting(ledger, "company.logo", "data:image/png;base64,iVBORw0KGgo=")
    values, _ = hashtags.values(ledger, "C1", ids(ledger, "FA-1"), AS_OF)
    logo = values["company_logo"]
    assert logo.text == ""
    assert logo.html.startswith('<img src="data:image/png;base64,iVBORw0KGgo="')


def test_action_date_and_contact_can_be_given(ledger):
    values, _ = hashtags.values(
        ledger,
        "C1",
        ids(ledger, "FA-1"),
        AS_OF,
        action_date=dt.date(2025, 8, 20),
        contact={"name": "M. Paul Dupont"},
    )
    assert values["action_date"] == "20/08/2025"
    assert values["contact_name"] == "M. Paul Dupont"


def test_selected_statement_as_aligned_text(ledger):
    values, _ = hashtags.values(ledger, "C1", ids(ledger, "FA-1", "AV-1"), AS_OF)
    lines = values["items_list_selected"].text.splitlines()
    assert lines[0].split() == [
        "Pièce", "Type", "Date", "Échéance", "Jours", "de", "retard", "Montant",
        "Reste", "dû", "Pénalités", "Libellé",
    ]  # fmt: skip
    fa1 = next(line for line in lines if line.startswith("FA-1"))
    av1 = next(line for line in lines if line.startswith("AV-1"))
    assert fa1.split() == [
        "FA-1", "Facture", "15/04/2025", "15/05/2025", "91", "1", "000,00", "€",
        "1", "000,00", "€", "71,55", "€", "Maintenance", "mai",
    ]  # fmt: skip
    assert "Avoir" in av1 and "-100,00 €" in av1  # the credit note, negative
    total = lines[-1]
    assert total.startswith("Total EUR") and total.endswith("900,00 €    71,55 €")
    # Columns line up: each amount ends where its heading's column ends.
    open_end = lines[0].index("Reste dû") + len("Reste dû")
    assert fa1[:open_end].endswith("1 000,00 €") and av1[:open_end].endswith(
        "-100,00 €"
    )


def test_selected_statement_as_an_html_table(ledger):
    values, _ = hashtags.values(ledger, "C1", ids(ledger, "FA-1", "AV-1"), AS_OF)
    html = values["items_list_selected"].html
    assert html.startswith('<table class="statement"') and html.endswith("</table>")
    assert html.count("<tr>") == 4  # headings, two items, one total per currency
    assert ">Total EUR</th>" in html and ">900,00 €</th>" in html


@pytest.mark.parametrize(
    ("name", "documents"),
    [
        ("items_list", ["FA-1", "FA-3", "AV-1", "FA-2"]),  # every open item
        ("items_list_overdue", ["FA-1", "FA-3"]),  # owed and past due
        ("items_list_not_due", ["FA-2"]),  # owed, due 2025-09-30
    ],
)
def test_account_statements(ledger, name, documents):
    values, _ = hashtags.values(ledger, "C1", ids(ledger, "FA-1"), AS_OF)
    lines = values[name].text.splitlines()[2:-2]
    assert sorted(line.split()[0] for line in lines) == sorted(documents)


def test_english_and_mixed_currencies(ledger):
    values, warnings = hashtags.values(
        ledger, "C2", ids(ledger, "INV-1", "INV-2"), AS_OF
    )
    # EUR 250.00 and USD 1000.00 side by side, never added together.
    assert values["items_amount_selected"] == "€250.00; US$1,000.00"
    # EUR: 2.50 + 40.00 + 40.00 (the USD invoice's indemnity is in euros); USD 14.98.
    assert values["items_amount_selected_late_penalties"] == "€82.50; US$14.98"
    assert values["items_amount_selected_include_late_penalties"] == (
        "€332.50; US$1,014.98"
    )
    assert values["items_oldest_due_date"] == "30 Jun 2025"
    assert values["as_of_date"] == "14 Aug 2025"
    assert values["penalty_rate"] == "12.15%"
    assert any("several currencies (EUR, USD)" in w for w in warnings)
    inv1 = next(
        line
        for line in values["items_list_selected"].text.splitlines()
        if line.startswith("INV-1")
    )
    assert "US$14.98 + €40.00" in inv1  # interest and indemnity, each its currency
    assert "Total EUR" in values["items_list_selected"].text
    assert "Total USD" in values["items_list_selected"].text


def test_billing_contact_stands_in_with_a_warning(ledger):
    values, warnings = hashtags.values(ledger, "C2", ids(ledger, "INV-2"), AS_OF)
    assert values["contact_name"] == "Mr John Smith"
    assert any("no dunning contact" in w for w in warnings)


def test_empty_settings_are_warned_about(ledger):
    store.set_setting(ledger, "company.iban", "")
    values, warnings = hashtags.values(ledger, "C1", ids(ledger, "FA-1"), AS_OF)
    assert values["company_iban"] == ""
    assert any("company.iban is empty" in w for w in warnings)


def test_penalties_off_give_zero_penalties(ledger):
    customers.update(ledger, "C1", {"penalty_rule": "none"})
    values, _ = hashtags.values(ledger, "C1", ids(ledger, "FA-1"), AS_OF)
    assert values["items_amount_selected_late_penalties"] == "0,00 €"
    assert values["items_amount_selected_include_late_penalties"] == "1 000,00 €"
    assert values["penalty_rate"] == "0,00 %"


def test_nothing_selected(ledger):
    values, _ = hashtags.values(ledger, "C1", [], AS_OF)
    assert values["items_amount_selected"] == "0,00 €"
    assert values["items_count_selected"] == 0
    assert values["items_list_selected"].text == "Aucune pièce."
    assert values["account_balance"] == "1 600,00 €"


# ---------------------------------------------------------------------------
# Values from loaded data (a campaign loads them in bulk)


def loaded(con, customer: str, docs: list[str]) -> dict:
    """compute_from's arguments, loaded as compute loads them."""
    return {
        "record": customers.get(con, customer),
        "selected": penalties.assess(con, customer, AS_OF, ids(con, *docs)),
        "account": penalties.assess(con, customer, AS_OF),
        "contact": hashtags.recipient(
            customer, None, customers.contacts(con, customer)
        ),
        "company": settings.company(con),
        "as_of": AS_OF,
    }


@pytest.mark.parametrize(
    ("customer", "docs"),
    [("C1", ["FA-1", "AV-1"]), ("C2", ["INV-1", "INV-2"])],
    ids=["C1-french", "C2-english-two-currencies-billing-contact"],
)
def test_compute_is_compute_from_after_its_queries(ledger, customer, docs):
    expected = hashtags.compute(ledger, customer, ids(ledger, *docs), AS_OF)
    arguments = loaded(ledger, customer, docs)
    ledger.close()  # compute_from runs no query
    assert hashtags.compute_from(**arguments) == expected


def test_compute_from_leaves_out_what_the_template_does_not_read(ledger):
    names = {"customer_name", "items_amount_selected", "items_selected"}
    computed = hashtags.compute_from(
        **loaded(ledger, "C1", ["FA-1", "AV-1"]), names=names
    )
    # 1 000,00 - 100,00 = 900,00 €; the account-wide group is not read
    assert computed.values["items_amount_selected"] == "900,00 €"
    assert computed.values["customer_name"] == "Atelier Dupont"
    assert computed.values["account_balance"] == ""
    assert computed.values["items_list"] == ""
    assert computed.values["penalty_rate"] == ""
    # by due date: FA-1 on 15/05, AV-1 on 01/06
    assert [row["doc_number"] for row in computed.rows["items_selected"]] == [
        "FA-1",
        "AV-1",
    ]
    assert computed.rows["items_open"] == []


DUNNING = {"name": "Claire Dupont", "role": "dunning", "email": "c@d.example"}
BILLING = {"name": "John Smith", "role": "billing", "email": "ap@g.example"}
OTHER = {"name": "Paul Roy", "role": "management", "email": "p@r.example"}


@pytest.mark.parametrize(
    ("contact", "contacts", "expected"),
    [
        ({"name": "M. Paul Dupont"}, [DUNNING], ("M. Paul Dupont", None)),
        ("Service comptable", [DUNNING], ("Service comptable", None)),
        (None, [BILLING, DUNNING], ("Claire Dupont", None)),
        (
            None,
            [OTHER, BILLING],
            (
                "John Smith",
                "Customer C9 has no dunning contact: #contact_name is the billing "
                "contact John Smith.",
            ),
        ),
        (
            None,
            [OTHER],
            (
                "Paul Roy",
                "Customer C9 has no dunning or billing contact: #contact_name is "
                "Paul Roy.",
            ),
        ),
        (
            None,
            [],
            ("", "Customer C9 has no named contact: #contact_name prints nothing."),
        ),
    ],
    ids=["record-given", "name-given", "dunning", "billing", "other", "nobody"],
)
def test_recipient(contact, contacts, expected):
    assert hashtags.recipient("C9", contact, contacts) == expected


# ---------------------------------------------------------------------------
# Reading templates


@pytest.mark.parametrize(
    ("source", "used"),
    [
        (
            "#items_amount_selected_late_penalties",
            ["items_amount_selected_late_penalties"],
        ),
        ("#items_amount_selected, then", ["items_amount_selected"]),
        ("(#customer_name)", ["customer_name"]),
        ("#3 #fff page#top &#39; color:#fff", []),
        ("page#customer_name", []),  # glued to a word: part of a link, not a hashtag
        ("{% if #items_max_days_late > 60 %}x{% endif %}", ["items_max_days_late"]),
        ("{# #customer_name #}", []),  # a Jinja comment
        ("{% raw %}#customer_name{% endraw %}", []),
    ],
)
def test_hashtags_are_read_whole(source, used):
    assert list(hashtags.used(source)) == used


def test_translation_to_jinja_keeps_everything_else():
    source = "Dû : #items_amount_selected_late_penalties #3 #fff page#top\n{# #today #}"
    assert hashtags.to_jinja(source) == (
        "Dû : {{ items_amount_selected_late_penalties }} #3 #fff page#top\n{# #today #}"
    )
    assert hashtags.to_jinja("{% if #items_count_selected > 1 %}") == (
        "{% if items_count_selected > 1 %}"
    )


def test_unknown_snake_case_names_are_reported_with_suggestions():
    found = hashtags.unknown("Bonjour\nMontant : #items_amount_selectd\n#fff #total")
    assert [(u.name, u.line) for u in found] == [("items_amount_selectd", 2)]
    assert found[0].suggestions[0] == "items_amount_selected"
    assert "Did you mean #items_amount_selected" in found[0].message()


def test_replacing_is_one_pass():
    # A value that looks like a hashtag is inserted as it is, never read again.
    values = {"customer_name": "#items_amount_selected {{ 7*7 }}", "today": "x"}
    assert hashtags.replace("#customer_name / #today", values) == (
        "#items_amount_selected {{ 7*7 }} / x"
    )
    assert hashtags.replace("<#customer_name>", {"customer_name": "a&b"}, True) == (
        "&lt;a&amp;b&gt;"
    )


# Where a hashtag starts: at the start, after whitespace or an opening mark; glued to
# a word, a URL or an entity it is none (and so never an unknown hashtag either).
STARTS = [
    ("#customer_name", ["customer_name"]),  # the very start
    ("Bonjour\n#customer_name", ["customer_name"]),  # a line break
    ("(#customer_name)", ["customer_name"]),
    ("#customer_name, merci", ["customer_name"]),  # the comma ends the name
    ("<b>#customer_name</b>", ["customer_name"]),  # after the end of a tag
    ('"#customer_name"', ["customer_name"]),
    ("« #customer_name »", ["customer_name"]),
    ("“#customer_name”", ["customer_name"]),
    ("[#customer_name]", ["customer_name"]),
    ("Client:#customer_number", ["customer_number"]),
    ("page#top", []),
    ("a#b_c.fr", []),
    ("http://x/#anchor_name", []),  # a URL fragment after '/'
    ("http://x/#customer_name", []),  # even a known name, inside a URL
    ("https://x.fr/page?tab=#customer_name", []),  # after '='
    ("https://x.fr/?#customer_name", []),  # after '?'
    ("www.x.fr.#customer_name", []),  # after '.'
    ("&#39; &#customer_name", []),  # an entity
    ("#customer_number/#customer_name", ["customer_number"]),  # glued by '/'
    # Inside Jinja code, any '#' not glued to a word.
    (
        "{{ #items_count_selected+#items_max_days_late }}",
        ["items_count_selected", "items_max_days_late"],
    ),
]


@pytest.mark.parametrize(("source", "expected"), STARTS, ids=[s for s, _ in STARTS])
def test_where_a_hashtag_starts(source, expected):
    assert list(hashtags.used(source)) == expected
    assert hashtags.unknown(source) == ()


def test_a_url_fragment_is_not_an_unknown_hashtag():
    source = "Voir http://x/#anchor_name, page#top et a#b_c.fr.\n(#anchor_name)"
    # Only the one standing after '(' on line 2 is a hashtag, and it is unknown.
    assert [(u.name, u.line) for u in hashtags.unknown(source)] == [("anchor_name", 2)]
    assert hashtags.to_jinja("<b>#customer_name</b> http://x/#customer_name") == (
        "<b>{{ customer_name }}</b> http://x/#customer_name"
    )


# ---------------------------------------------------------------------------
# #penalty_rate over several rates

UK_LEDGER = """\
Code client;Raison sociale;N° pièce;Date pièce;Date échéance;Reste dû;Devise
U1;UK Ltd;UK-1;15/01/2025;14/02/2025;5 000,00;GBP
U1;UK Ltd;UK-3;31/05/2025;30/06/2025;12 000,00;GBP
"""


@pytest.mark.parametrize(
    ("language", "expected"), [("fr", "12,25 % ; 12,75 %"), ("en", "12.25%; 12.75%")]
)
def test_penalty_rate_of_debts_at_different_rates(con, tmp_path, language, expected):
    # uk_legal fixes the rate per debt: UK-1 overdue from 2025-02-15 (H1) reads the
    # Bank Rate of 31 Dec 2024, 4.75 + 8 = 12.75 %; UK-3 overdue from 2025-07-01
    # (H2) the one of 30 Jun 2025, 4.25 + 8 = 12.25 %. Both run over the same days:
    # both rates, from the lowest, joined as mixed currencies are.
    path = tmp_path / "uk.csv"
    path.write_text(UK_LEDGER, encoding="utf-8")
    assert importing.import_file(con, path, importing.Options()).committed
    customers.update(con, "U1", {"penalty_rule": "uk_legal", "language": language})
    values, _ = hashtags.values(con, "U1", ids(con, "UK-1", "UK-3"), AS_OF)
    assert values["penalty_rate"] == expected
    values, _ = hashtags.values(con, "U1", ids(con, "UK-1"), AS_OF)
    assert values["penalty_rate"] == expected.split(";")[-1].strip()  # 12.75 alone


@pytest.mark.parametrize(
    ("language", "docs", "expected"),
    [
        # FA-1: 46 days in H1 2025 at 13.15 %, then 45 days in H2 at 12.15 %.
        ("fr", ("FA-1",), "13,15 % puis 12,15 %"),
        ("en", ("FA-1",), "13.15% then 12.15%"),
        # FA-3 is late in H2 2025 only: 12.15 %; with FA-1 the H2 days of both
        # bear 12.15 %: still one rate after the other.
        ("fr", ("FA-3",), "12,15 %"),
        ("fr", ("FA-1", "FA-3"), "13,15 % puis 12,15 %"),
    ],
)
def test_penalty_rate_follows_the_half_years(ledger, language, docs, expected):
    customers.update(ledger, "C1", {"language": language})
    values, _ = hashtags.values(ledger, "C1", ids(ledger, *docs), AS_OF)
    assert values["penalty_rate"] == expected


def test_penalty_rate_with_the_rate_of_the_due_half_year(ledger):
    # due_half_year: FA-1 fell due in H1 2025 (13.15 % for its whole delay), FA-3
    # in H2 (12.15 %); over 2025-08-01..08-14 both run: side by side.
    store.set_setting(ledger, "penalties.fr_rate_reference", "due_half_year")
    values, _ = hashtags.values(ledger, "C1", ids(ledger, "FA-1", "FA-3"), AS_OF)
    assert values["penalty_rate"] == "12,15 % ; 13,15 %"


def test_penalty_rate_with_nothing_late(ledger):
    # FA-2 is not due: no period in the selection, those of the account (FA-1, FA-3)
    # give the rates.
    values, _ = hashtags.values(ledger, "C1", ids(ledger, "FA-2"), AS_OF)
    assert values["penalty_rate"] == "13,15 % puis 12,15 %"
    # At 2025-05-01 nothing is late yet (FA-1 is due on 05-15): the rule's rate for
    # H1 2025, ECB 3.15 % on 1 Jan 2025 + 10 = 13.15 %.
    values, _ = hashtags.values(ledger, "C1", ids(ledger, "FA-1"), dt.date(2025, 5, 1))
    assert values["penalty_rate"] == "13,15 %"

"""Letters: the HTML document and its PDF, read back with pypdf.

Customer C00077 (case 07) at the as-of date 2025-09-15, two items selected:
  FA-2025-0412 12 000.00, penalty 484.83 interest + 40.00 indemnity = 524.83
  FA-2025-0671  2 400.00, penalty 0.80 + 40.00 = 40.80
  amount selected 12 000.00 + 2 400.00 = 14 400.00; penalties 565.63;
  including penalties 14 965.63
"""

from __future__ import annotations

import base64
import datetime as dt

import pytest

from dunning import customers, importing, letters, penalties, store

AS_OF = dt.date(2025, 9, 15)
# The smallest valid PNG: one transparent pixel.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)


def spaced(text: str) -> str:
    return text.replace("\u202f", " ").replace("\xa0", " ")


@pytest.fixture
def c77(con, data_file):
    report = importing.import_file(
        con, data_file("postes_C00077.csv"), importing.Options()
    )
    assert report.committed
    store.set_setting(con, "company.name", "Acme Recouvrement SAS")
    store.set_setting(con, "company.address", "12 quai Perrache\n69002 Lyon")
    store.set_setting(con, "company.iban", "FR76 3000 6000 0112 3456 7890 189")
    store.set_setting(con, "sender.name", "Claire Martin")
    return con


def assessment(con):
    ids = penalties.item_ids(con, "C00077", ["FA-2025-0412", "FA-2025-0671"])
    return penalties.assess(con, "C00077", AS_OF, ids)


def document(con, kind="letter", body="<p>Madame, Monsieur,</p>", **kw):
    return letters.document(
        head=letters.letterhead(con),
        customer=customers.get(con, "C00077"),
        kind=kind,
        letter_date=dt.date(2025, 9, 16),
        subject="Relance factures impayées",
        body_html=body,
        contact_name="M. Delacroix",
        assessment=assessment(con),
        **kw,
    )


def test_pdf_holds_the_customer_the_amounts_and_the_page_number(c77):
    data = letters.pdf(document(c77))
    assert data.startswith(b"%PDF")
    pages = [spaced(text) for text in letters.page_texts(data)]
    assert len(pages) == 1
    text = pages[0]
    assert "Menuiserie Delacroix" in text
    assert "À l'attention de M. Delacroix" in text
    assert "Acme Recouvrement SAS" in text and "Claire Martin" in text
    assert "Lyon, le 16/09/2025" in text  # place from the company address
    assert "Objet : Relance factures impayées" in text
    for amount in ("12 000,00 €", "2 400,00 €", "524,83 €", "40,80 €"):
        assert amount in text
    assert "14 400,00 €" in text  # 12 000.00 + 2 400.00
    assert "565,63 €" in text  # 524.83 + 40.80
    assert "14 965,63 €" in text  # 14 400.00 + 565.63
    assert "Page 1 sur 1" in text
    assert "FR76 3000 6000 0112 3456 7890 189" in text


def test_long_statement_runs_over_pages_numbered_on_each(con, tmp_path):
    rows = "\n".join(
        f"C00099;Grossiste Martin;FA-2025-{n:04d};01/03/2025;31/03/2025;100,00;EUR"
        for n in range(1, 81)
    )
    ledger = tmp_path / "long.csv"
    ledger.write_text(
        "Code client;Raison sociale;N° pièce;Date pièce;Date échéance;Reste dû;"
        f"Devise\n{rows}\n",
        encoding="utf-8",
    )
    assert importing.import_file(con, ledger, importing.Options()).rows_loaded == 80
    found = penalties.assess(con, "C00099", AS_OF)
    html = letters.document(
        head=letters.letterhead(con),
        customer=customers.get(con, "C00099"),
        kind="letter",
        letter_date=AS_OF,
        subject="Relevé",
        body_html="<p>Voici le relevé.</p>",
        assessment=found,
    )
    pages = [spaced(t) for t in letters.page_texts(letters.pdf(html))]
    assert len(pages) >= 2
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} sur {len(pages)}" in text
    # 80 x 100.00 = 8 000.00, on the last page's totals row
    assert "8 000,00 €" in pages[-1]


def test_registered_letter_and_formal_notice_say_so(c77):
    ar = spaced(letters.page_texts(letters.pdf(document(c77, "letter_ar")))[0])
    assert "LETTRE RECOMMANDÉE AVEC ACCUSÉ DE RÉCEPTION" in ar.upper()
    notice = spaced(letters.page_texts(letters.pdf(document(c77, "formal_notice")))[0])
    assert "MISE EN DEMEURE" in notice.upper()


def test_statement_not_repeated_when_the_body_holds_one(c77):
    body = "<p>Relevé :</p><table class='statement'><tr><td>x</td></tr></table>"
    assert document(c77, body=body).count("<table") == 1
    assert document(c77).count("<table") == 1  # the letter's own statement


def test_english_letter_words_and_dates(c77):
    html = document(c77, language="en")
    assert (
        "Subject:" in html and "16 Sept 2025" in spaced(html)
    ) or "16 Sep 2025" in html


def test_logo_from_a_readable_image_path_or_a_data_uri(c77, tmp_path):
    logo = tmp_path / "logo.png"
    logo.write_bytes(PNG)
    store.set_setting(c77, "company.logo", str(logo))
    assert letters.letterhead(c77).logo.startswith("data:image/png;base64,")
    assert '<img class="logo"' in document(c77)
    assert letters.pdf(document(c77)).startswith(b"%PDF")

    not_an_image = tmp_path / "logo.txt"
    not_an_image.write_text("hello")
    store.set_setting(c77, "company.logo", str(not_an_image))
    assert letters.letterhead(c77).logo == ""
    store.set_setting(c77, "company.logo", str(tmp_path / "missing.png"))
    assert '<img class="logo"' not in document(c77)
    uri = "data:image/png;base64," + base64.b64encode(PNG).decode()
    store.set_setting(c77, "company.logo", uri)
    assert letters.letterhead(c77).logo == uri


def test_values_are_escaped_and_local_files_are_not_read(c77):
    c77.execute("UPDATE customers SET name = '<b>Menuiserie</b> & Co'")
    html = document(c77, body='<p>Hi</p><img src="file:///etc/hostname">')
    assert "&lt;b&gt;Menuiserie&lt;/b&gt; &amp; Co" in html
    assert letters.pdf(html).startswith(b"%PDF")  # the file URL is refused, quietly


def test_merge_puts_letters_one_after_the_other(c77):
    one = letters.pdf(document(c77))
    two = letters.pdf(document(c77, "formal_notice"))
    merged = letters.page_texts(letters.merge([one, two]))
    assert len(merged) == 2
    assert "MISE EN DEMEURE" in merged[1].upper()


# The address window: no country line inside the company's own country.
DUBOIS = {
    "customer_number": "C00500",
    "name": "Dubois SARL",
    "address": "3 rue des Lilas",
    "postal_code": "69003",
    "city": "Lyon",
    "language": "fr",
}


@pytest.mark.parametrize(
    ("language", "company_country", "country", "last_line"),
    [
        ("fr", None, "FR", "69003 Lyon"),  # fr workspace: France is home
        ("fr", None, "France", "69003 Lyon"),  # a name compares as its code
        ("fr", None, "BE", "BE"),  # abroad: the country stays
        ("fr", "BE", "FR", "FR"),  # the setting wins: from Belgium, France is abroad
        ("fr", "Belgique", "BE", "69003 Lyon"),
        ("en", None, "FR", "FR"),  # en workspace, no setting: country unknown
        ("fr", None, None, "69003 Lyon"),  # no country at all
    ],
)
def test_the_address_window_leaves_out_the_home_country(
    con, language, company_country, country, last_line
):
    import re

    store.set_setting(con, "defaults.language", language)
    if company_country:
        store.set_setting(con, "company.country", company_country)
    page = letters.document(
        head=letters.letterhead(con),
        customer={**DUBOIS, "country": country},
        kind="letter",
        letter_date=dt.date(2026, 2, 16),
        subject="Relance",
        body_html="<p>Madame, Monsieur,</p>",
    )
    window = re.search(r'<div class="recipient">(.*?)</div>', page, re.S).group(1)
    assert window.split("\n") == ["Dubois SARL", "3 rue des Lilas", "69003 Lyon"] + (
        [] if last_line == "69003 Lyon" else [last_line]
    )

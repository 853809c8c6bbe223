"""Rendering: acceptance cases 05 and 09, HTML output, the sandbox and its limits.

Case 05 (as-of 2025-06-30, H1 2025 at 13.15 %), every open item of C00044 selected:
  FA-2025-0510 2160.00, 30 d: 2160 x 13.15 % x 30 / 365 = 23.35, indemnity 40.00
  FA-2025-0588 1080.00, 15 d: 1080 x 13.15 % x 15 / 365 = 5.84, indemnity 40.00
  FA-2025-0602  540.00, due on the as-of date: nothing
  AV-2025-0041 -360.00 credit note: nothing; AV-2025-0039 cancelled: not an item
  amount 3420.00; penalties 23.35 + 5.84 + 80.00 = 109.19; total 3529.19
Case 09 (as-of 2025-10-31, H2 2025 at 12.15 %), both items of C00088 selected:
  FA-2025-0880 1500.00, 61 d: 30.46; FA-2025-0912 2250.00, 31 d: 23.22
  amount 3750.00; penalties 53.68 + 80.00 = 133.68; total 3883.68
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

from dunning import customers, hashtags, importing, rendering

CASE_05 = dt.date(2025, 6, 30)
CASE_09 = dt.date(2025, 10, 31)
PWNED = Path("/tmp/relance_pwned")


def load(con, data_file, name: str) -> None:
    report = importing.import_file(con, data_file(name), importing.Options())
    assert report.committed, report.errors


def open_ids(con, customer: str, as_of: dt.date) -> list[int]:
    return [item["item_id"] for item in customers.open_items(con, customer, as_of)]


@pytest.fixture
def case_05(con, data_file):
    load(con, data_file, "poste_ouverts_C00044.csv")
    return con


@pytest.fixture
def case_09(con, data_file):
    load(con, data_file, "postes_C00088.csv")
    return con


def preview_09(con, body: str, subject: str = "") -> rendering.Preview:
    return rendering.preview(
        con, "C00088", open_ids(con, "C00088", CASE_09), CASE_09, subject, body
    )


# ---------------------------------------------------------------------------
# Case 05: an open credit note reduces the selection


def test_case_05_credit_note_reduces_the_selection(case_05):
    body = (
        "Dû : #items_amount_selected\n"
        "Pénalités : #items_amount_selected_late_penalties\n"
        "Total : #items_amount_selected_include_late_penalties\n\n"
        "#items_list_selected"
    )
    shown = rendering.preview(
        case_05, "C00044", open_ids(case_05, "C00044", CASE_05), CASE_05, "", body
    )
    assert not shown.blocking
    lines = shown.text.splitlines()
    assert lines[:3] == [
        "Dû : 3 420,00 €",
        "Pénalités : 109,19 €",
        "Total : 3 529,19 €",
    ]
    credit = next(line for line in lines if line.startswith("AV-2025-0041"))
    assert "Avoir" in credit and "-360,00 €" in credit
    assert "AV-2025-0039" not in shown.text  # cancelled: not an open item
    due_today = next(line for line in lines if line.startswith("FA-2025-0602"))
    assert due_today.split()[4] == "0" and "0,00 €" in due_today  # no 40 €


# ---------------------------------------------------------------------------
# Case 09: Jinja in the template or the data never runs


def test_case_09_hostile_template_is_refused_and_shown_verbatim(case_09, data_file):
    PWNED.unlink(missing_ok=True)
    body = data_file("modele_relance.txt").read_text(encoding="utf-8")
    start = time.monotonic()
    shown = preview_09(case_09, body, "Relance #customer_name")
    assert time.monotonic() - start < 1

    # Refused with sentences naming what is not allowed...
    problems = " ".join(shown.blocking)
    assert "'client' is not a hashtag" in problems
    assert "the attribute '__class__' is not allowed (body line 12)" in problems
    assert "'lipsum' is not a hashtag" in problems
    assert "calling functions or methods is not allowed" in problems

    # ...while the preview shows the four hashtags replaced, the rest verbatim.
    text = shown.text
    assert "Montant restant dû : 3 750,00 €\n" in text
    assert "Pénalités de retard et indemnité forfaitaire : 133,68 €\n" in text
    assert "Total à régler : 3 883,68 €\n" in text
    assert "Réf. interne : {{ ().__class__.__base__.__subclasses__() }}" in text
    assert "{{ client.raison_sociale }}" in text
    assert "_late_penalties" not in text.replace(
        "Taille haies #items_amount_selected_late_penalties", ""
    )
    assert "Taille haies #items_amount_selected_late_penalties" in text
    assert "Entretien {{ 7*7 }} massifs" in text
    assert "49" not in text and "<class" not in text
    assert shown.subject == "Relance Les Jardins {{ 7*7 }} & Cie"
    assert "&#39;touch /tmp/relance_pwned &amp;&amp; id&#39;" in shown.html
    assert not PWNED.exists()


def test_case_09_data_stays_literal_through_jinja(case_09):
    body = (
        "{% if items_count_selected == 2 %}Deux pièces{% endif %} {{ 6*7 }}\n"
        "Client : #customer_name\nContact : #contact_name\n\n#items_list_selected"
    )
    shown = preview_09(case_09, body)
    assert not shown.blocking
    assert shown.text.startswith("Deux pièces 42\n")  # the template's Jinja runs
    assert "Client : Les Jardins {{ 7*7 }} & Cie\n" in shown.text  # the data's not
    assert "Contact : M. Thibault #items_amount_selected Renaud\n" in shown.text
    assert "Taille haies #items_amount_selected_late_penalties" in shown.text
    assert "Entretien {{ 7*7 }} massifs" in shown.text
    assert "Les Jardins {{ 7*7 }} &amp; Cie" in shown.html
    assert "Client : Les Jardins {{ 7*7 }} & Cie" not in shown.html


# ---------------------------------------------------------------------------
# Hashtags inside a rendering


def test_whole_names_and_lookalikes(case_09):
    body = "#items_amount_selected_late_penalties | #3 #fff page#top &#39; #today2"
    shown = preview_09(case_09, body)
    assert shown.text == "133,68 € | #3 #fff page#top &#39; #today2"
    assert shown.html == "<p>133,68 € | #3 #fff page#top &amp;#39; #today2</p>"


def test_a_url_fragment_neither_blocks_nor_is_replaced(case_09):
    # '#' after '/' is part of the URL; '(' and '>' open a hashtag (DESIGN 8).
    body = "Voir http://x/#anchor_name et http://x/#customer_name (#customer_number)"
    shown = preview_09(case_09, body)
    assert shown.blocking == ()
    assert shown.text == (
        "Voir http://x/#anchor_name et http://x/#customer_name (C00088)"
    )


def test_unknown_hashtag_blocks_with_suggestions(case_09):
    shown = preview_09(case_09, "Bonjour,\nMontant : #items_amount_selectd")
    assert shown.blocking == (
        "Unknown hashtag #items_amount_selectd (body line 2). Did you mean "
        "#items_amount_selected or #items_count_selected or #items_list_selected?",
    )
    assert shown.text == "Bonjour,\nMontant : #items_amount_selectd"


def test_nothing_selected_blocks(case_09):
    shown = rendering.preview(case_09, "C00088", [], CASE_09, "", "#customer_name")
    assert shown.blocking == (rendering.NO_ITEMS,)
    assert shown.text == "Les Jardins {{ 7*7 }} & Cie"


def test_html_escapes_values_and_literal_text(case_09):
    customers.update(case_09, "C00088", {"name": "<script>alert(1)</script>"})
    shown = preview_09(
        case_09, "<b>Client</b> : #customer_name\n\n#items_list_selected"
    )
    assert "<script>" not in shown.html and "<b>" not in shown.html
    assert shown.html.startswith(
        "<p>&lt;b&gt;Client&lt;/b&gt; : &lt;script&gt;alert(1)&lt;/script&gt;</p>\n"
        '<table class="statement"'
    )
    assert shown.text.startswith("<b>Client</b> : <script>alert(1)</script>\n")


def test_paragraphs_line_breaks_and_tables_in_html(case_09):
    shown = preview_09(
        case_09, "Bonjour,\n\nLigne 1\nLigne 2 : #items_list_selected Fin.\n"
    )
    html = shown.html
    assert html.startswith("<p>Bonjour,</p>\n<p>Ligne 1<br>\nLigne 2 :</p>\n<table")
    assert html.endswith("</table>\n<p>Fin.</p>")
    assert "<p><table" not in html


def test_subject_is_one_line(case_09):
    shown = preview_09(case_09, "x", "Relance\n#customer_number  #items_count_selected")
    assert shown.subject == "Relance C00088 2"


def test_loops_and_formatting_filters(case_09):
    body = (
        "{% for item in items_selected %}{{ item.doc_number }} "
        "{{ item.due_date|date }} {{ item.open_amount|money(item.currency) }}\n"
        "{% endfor %}{{ 1234.5|number }} {{ 12.15|percent }} {{ 'ab'|upper }}"
    )
    shown = preview_09(case_09, body)
    assert not shown.blocking
    assert shown.text == (
        "FA-2025-0880 31/08/2025 1 500,00 €\n"
        "FA-2025-0912 30/09/2025 2 250,00 €\n"
        "1 234,50 12,15 % AB"
    )


def test_syntax_errors_name_their_line(case_09):
    shown = preview_09(case_09, "Bonjour\n{% if %}x{% endif %}")
    assert len(shown.blocking) == 1
    assert "syntax error at line 2" in shown.blocking[0]


# ---------------------------------------------------------------------------
# Hostile templates: refused or inert, each within a second


HOSTILE = [
    "{{ ''.__class__.__mro__ }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'].popen('touch /tmp/relance_pwned').read() }}",
    "{{ os.system('touch /tmp/relance_pwned') }}",
    "{{ items_selected.__class__.__base__.__subclasses__() }}",
    "{{ customer_name['__class__'] }}",
    "{{ '{0.__class__}'.format(1) }}",
    "{{ customer_name|attr('__class__') }}",
    "{{ '%s'|format(customer_name) }}",
    "{{ self }}{{ config }}{{ request }}",
    "{% set x = 1 %}",
    "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
    "{% include 'x.txt' %}",
    "{% for i in range(3) recursive %}{{ loop([1]) }}{% endfor %}",
    "{% for i in range(10**9) %}.{% endfor %}",
    "{{ 'a' * 10**9 }}",
    "{{ 10**1000000000 }}",
    "{{ '%0999999999d' % 1 }}",
    "{% for i in range(100000) %}{% for j in range(100000) %}xxxxxxxxxx"
    "{% endfor %}{% endfor %}",
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
]


@pytest.mark.parametrize("body", HOSTILE)
def test_hostile_templates_are_refused_quickly(case_09, body):
    PWNED.unlink(missing_ok=True)
    start = time.monotonic()
    shown = preview_09(case_09, body)
    assert time.monotonic() - start < 1
    assert shown.blocking, shown.text
    # Refused: the text is the template as written, nothing evaluated.
    assert shown.text == body
    assert not PWNED.exists()


SANDBOXED = [
    ("{{ ''.__class__.__mro__ }}", "uses something it may not"),
    ("{% for i in range(10**9) %}.{% endfor %}", "loop is too large"),
    ("{{ 'a' * 10**9 }}", "text longer than allowed"),
    (
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}"
        "{% endfor %}",
        "took more than",
    ),
    (
        "{% for i in range(100000) %}{% for j in range(100000) %}xxxxxxxxxx"
        "{% endfor %}{% endfor %}",
        "would exceed",
    ),
]


@pytest.mark.parametrize(("source", "message"), SANDBOXED)
def test_the_sandbox_holds_without_the_static_check(source, message):
    # The runtime defences alone, should a construct get past the static check.
    start = time.monotonic()
    with pytest.raises(rendering.TemplateRefused, match=message):
        rendering.render(source, {})
    assert time.monotonic() - start < 1


def test_oversized_template_is_refused():
    found = rendering.problems("x" * (rendering.MAX_TEMPLATE_CHARS + 1))
    assert "the limit is 65,536" in found[0]


def test_check_refuses_with_one_message():
    with pytest.raises(rendering.TemplateRefused, match="is not allowed"):
        rendering.check("Relance", "{% set total = 1 %}")
    rendering.check("Relance #customer_name", "Bonjour #contact_name")


# ---------------------------------------------------------------------------
# What a reminder may claim: an empty body, a selection owing nothing

MIXED = (
    "Code client;Raison sociale;Type pièce;N° pièce;Date pièce;Date échéance;"
    "Montant TTC;Devise;Reste dû\n"
    "C00200;Kontor Weber;Facture;FA-200;15/01/2026;14/02/2026;100,00;EUR;100,00\n"
    "C00200;Kontor Weber;Facture;FA-201;15/01/2026;14/02/2026;60,00;USD;60,00\n"
    "C00200;Kontor Weber;Avoir;AV-202;20/01/2026;20/01/2026;-150,00;EUR;-150,00\n"
    "C00200;Kontor Weber;Avoir;AV-203;20/01/2026;20/01/2026;-100,00;USD;-100,00\n"
)
TODAY = dt.date(2026, 2, 15)


@pytest.fixture
def weber(con, tmp_path):
    path = tmp_path / "weber.csv"
    path.write_text(MIXED, encoding="utf-8")
    assert importing.import_file(con, path, importing.Options()).committed
    return con


def weber_preview(con, docs, body="Merci de régler #items_amount_selected."):
    from dunning import penalties

    chosen = penalties.item_ids(con, "C00200", docs)
    return rendering.preview(con, "C00200", chosen, TODAY, "Relance", body)


def nbsp(text: str) -> str:
    return text.replace("\u202f", " ").replace("\xa0", " ")


@pytest.mark.parametrize(
    ("body", "empty"),
    [("", True), ("\n\n  \n", True), ("\t", True), ("Merci.", False)],
)
def test_an_empty_body_blocks(weber, body, empty):
    shown = weber_preview(weber, ["FA-200"], body)
    found = [b for b in shown.blocking if b.startswith("The body is empty")]
    assert bool(found) is empty


@pytest.mark.parametrize(
    ("docs", "blocked", "warned"),
    [
        # a credit note alone: -150.00 EUR
        (["AV-202"], "they come to -150,00 €", None),
        # 100.00 - 150.00 = -50.00 EUR: the credit outweighs the invoice
        (["FA-200", "AV-202"], "they come to -50,00 €", None),
        # EUR 100.00 owed, USD 60.00 - 100.00 = -40.00: a warning for USD
        (["FA-200", "FA-201", "AV-203"], None, "items in USD come to -40,00 $US"),
        # EUR 100.00 and USD 60.00 owed: nothing to say
        (["FA-200", "FA-201"], None, None),
    ],
)
def test_a_selection_owing_nothing_blocks_and_a_negative_currency_warns(
    weber, docs, blocked, warned
):
    shown = weber_preview(weber, docs)
    owed = [nbsp(b) for b in shown.blocking if b.startswith("Nothing is owed")]
    assert bool(owed) is bool(blocked)
    if blocked:
        assert blocked in owed[0]
    negative = [nbsp(w) for w in shown.warnings if "nothing is owed in" in w]
    assert bool(negative) is bool(warned)
    if warned:
        assert warned in negative[0]


# ---------------------------------------------------------------------------
# Compiled once, rendered for many customers (the campaign's path)

LOOP_BODY = (
    "Bonjour #customer_name,\n\n"
    "{% for item in items_selected %}{{ item.doc_number }} "
    "{{ item.open_amount|money(item.currency) }}\n{% endfor %}\n"
    "#items_list_selected"
)


def computed_09(con) -> hashtags.Computed:
    ids = open_ids(con, "C00088", CASE_09)
    return hashtags.compute(con, "C00088", ids, CASE_09)


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("Relance #items_amount_selected", LOOP_BODY),
        ("Relevé #items_list_selected", "Montant #montant_du"),  # refused body
        ("Relance", "{% for i in range(10**8) %}x{% endfor %}"),  # time limit
        ("", ""),  # empty body
    ],
    ids=["loop-and-table", "unknown-hashtag", "too-long-loop", "empty"],
)
def test_preview_is_the_compiled_template_rendered(case_09, subject, body):
    compiled = rendering.compile(subject, body)
    rendered = rendering.render_compiled(compiled, computed_09(case_09))
    assert rendered == preview_09(case_09, body, subject)


def test_compile_checks_once_and_says_what_the_template_reads():
    compiled = rendering.compile("Relance #customer_name", LOOP_BODY)
    assert compiled.problems == ()
    assert compiled.used == ("customer_name", "items_list_selected")
    assert compiled.reads == {"customer_name", "items_selected", "items_list_selected"}
    refused = rendering.compile("Relance", "{% set x = 1 %} #customer_name")
    assert refused.body.text is None and refused.subject.text is not None
    assert "{% set %} is not allowed" in refused.problems[0]
    # a refused body prints its hashtags through the fallback: they are read
    assert refused.reads == {"customer_name"}

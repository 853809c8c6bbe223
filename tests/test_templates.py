"""The template library, saved templates, and previews by name."""

from __future__ import annotations

import datetime as dt

import pytest

from dunning import demo, penalties, rendering, store, templates
from dunning.errors import InvalidValue, NotFound
from dunning.workspace import Workspace

EXPECTED = {
    "relance-1-fr": ("email", "fr"),
    "relance-1-en": ("email", "en"),
    "relance-2-fr": ("email", "fr"),
    "relance-2-en": ("email", "en"),
    "mise-en-demeure-fr": ("letter", "fr"),
    "formal-notice-en": ("letter", "en"),
    "releve-compte-fr": ("email", "fr"),
    "statement-cover-en": ("email", "en"),
    "promesse-paiement-fr": ("email", "fr"),
    "promise-to-pay-en": ("email", "en"),
}
COMPANY = {
    "company.name": "Recouvra SAS",
    "company.address": "12 rue des Lilas\n69003 Lyon",
    "company.iban": "FR76 3000 6000 0112 3456 7890 189",
    "sender.name": "Julie Martin",
    "sender.email": "relances@recouvra.example",
    "sender.phone": "+33 4 72 00 00 00",
}
AS_OF = dt.date(2026, 2, 15)  # the tests' today; the demo ledger is built for it


def test_the_library_has_five_models_in_two_languages():
    library = {t.name: t for t in templates.library()}
    assert {n: (t.channel, t.language) for n, t in library.items()} == EXPECTED
    for template in library.values():
        assert template.predefined and template.title and template.subject
        assert template.body.endswith("\n") and "---" not in template.body
        assert rendering.problems(template.subject, "subject") == []
        assert rendering.problems(template.body) == []


@pytest.mark.parametrize(
    ("name", "wording"),
    [
        ("mise-en-demeure-fr", ["L441-10", "D441-5", "40 €", "majoré de 10 points"]),
        ("formal-notice-en", ["L441-10", "D441-5", "€40", "plus 10 percentage"]),
        ("relance-2-fr", ["L441-10", "D441-5", "#penalty_rate"]),
    ],
)
def test_formal_wording_names_the_law(name, wording):
    body = templates.predefined(name).body
    for words in wording:
        assert words in body


@pytest.fixture(scope="module")
def demo_con(tmp_path_factory):
    """The demo workspace with its company details filled in, built once."""
    con = store.connect(tmp_path_factory.mktemp("demo") / "demo.duckdb")
    demo.build(con, AS_OF)
    for key, value in COMPANY.items():
        store.set_setting(con, key, value)
    yield con
    con.close()


def plain_customer(con, language: str) -> tuple[str, list[int]]:
    """A demo customer a reminder can go to without a warning: a named dunning
    contact, an address, overdue items in one currency, nothing disputed."""
    rows = con.execute(
        "SELECT c.customer_number FROM customers c JOIN contacts k "
        "USING (customer_number) WHERE k.role = 'dunning' AND k.name IS NOT NULL "
        "AND c.address IS NOT NULL AND c.language = ? ORDER BY 1",
        [language],
    ).fetchall()
    for (number,) in rows:
        assessment = penalties.assess(con, number, AS_OF)
        late = [i for i in assessment.items if i.days_late and i.open_amount > 0]
        if late and not assessment.warnings and len(assessment.totals) == 1:
            return number, [i.item_id for i in assessment.items]
    raise AssertionError(f"no plain {language} customer in the demo")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_predefined_template_renders_cleanly_on_a_demo_customer(demo_con, name):
    template = templates.predefined(name)
    number, ids = plain_customer(demo_con, template.language)
    shown = rendering.preview(
        demo_con, number, ids, AS_OF, template.subject, template.body
    )
    assert shown.blocking == ()
    assert shown.warnings == ()
    assert "#" not in shown.text.replace("#ddd", "")  # every hashtag replaced
    assert "{{" not in shown.text and "{%" not in shown.text
    assert "<table" in shown.html and shown.subject


# ---------------------------------------------------------------------------
# Saved templates


def test_save_get_list_and_delete(con):
    saved = templates.save(
        con, "relance-litige", "letter", "fr", "Litige #customer_number", "Bonjour"
    )
    assert (saved.name, saved.channel, saved.predefined) == (
        "relance-litige",
        "letter",
        False,
    )
    assert templates.get(con, "relance-litige").subject == "Litige #customer_number"
    assert [t.name for t in templates.saved(con)] == ["relance-litige"]
    assert len(templates.every(con)) == len(EXPECTED) + 1

    # Saving the same name again replaces the text.
    templates.save(con, "relance-litige", "email", "en", "Dispute", "Hello")
    assert templates.get(con, "relance-litige").body == "Hello"

    templates.delete(con, "relance-litige")
    assert templates.saved(con) == []
    with pytest.raises(NotFound, match="no template named 'relance-litige'"):
        templates.get(con, "relance-litige")


def test_predefined_names_win_and_cannot_be_shadowed_or_deleted(con):
    assert templates.get(con, "relance-1-fr").predefined
    with pytest.raises(InvalidValue, match="predefined template: save your version"):
        templates.save(con, "relance-1-fr", "email", "fr", "x", "y")
    with pytest.raises(InvalidValue, match="cannot be deleted"):
        templates.delete(con, "relance-1-fr")
    with pytest.raises(NotFound):
        templates.delete(con, "never-saved")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "Ma Relance"}, "lowercase letters"),
        ({"name": ""}, "lowercase letters"),
        ({"channel": "fax"}, "email, letter, sms, call"),
        ({"language": "de"}, "use fr or en"),
        ({"subject": "two\nlines"}, "one line"),
        ({"body": "  "}, "body is empty"),
        ({"body": "Dû : #items_amount_selectd"}, "Did you mean #items_amount_selected"),
        ({"body": "{% if %}"}, "syntax error at line 1"),
        ({"body": "{{ ''.__class__ }}"}, "'__class__' is not allowed"),
        ({"subject": "{% set x = 1 %}"}, "{% set %} is not allowed"),
    ],
)
def test_save_checks_every_field(con, fields, message):
    values = {
        "name": "ok",
        "channel": "email",
        "language": "fr",
        "subject": "s",
        "body": "b",
    }
    with pytest.raises((InvalidValue, rendering.TemplateRefused), match=message):
        templates.save(con, **{**values, **fields})
    assert templates.saved(con) == []


def test_parse_refuses_a_file_without_front_matter():
    with pytest.raises(InvalidValue, match="front matter"):
        templates.parse("Bonjour\n", "x.txt")
    with pytest.raises(InvalidValue, match="'colour: red'"):
        templates.parse("---\ncolour: red\n---\nBonjour\n", "x.txt")


# ---------------------------------------------------------------------------
# Previews by name (notebook, command line)


def test_workspace_preview_by_template_and_document_numbers(demo_con):
    number, ids = plain_customer(demo_con, "fr")
    doc = demo_con.execute(
        "SELECT doc_number FROM items WHERE item_id = ?", [ids[0]]
    ).fetchone()[0]
    ws = Workspace(demo_con)
    text = ws.preview(customer=number, items=[doc], template="relance-1-fr")
    assert text.startswith("Bonjour ") and doc in text
    html = ws.preview(number, doc, template="relance-1-fr", format="html")
    assert html.startswith("<p>Bonjour ") and "<table" in html
    body = ws.preview(number, [doc], body="N° #customer_number", as_of="2026-02-15")
    assert body == f"N° {number}"
    with pytest.raises(InvalidValue, match="either a template name or a body"):
        ws.preview(number, [doc])
    with pytest.raises(NotFound, match="no document numbered NOPE"):
        ws.preview(number, ["NOPE"], template="relance-1-fr")


def test_starting_selection_prefers_the_basket(demo_con):
    number, ids = plain_customer(demo_con, "fr")
    chosen, origin = templates.starting_selection(demo_con, number, AS_OF, ids[:1])
    assert (chosen, origin) == (ids[:1], "basket")
    chosen, origin = templates.starting_selection(demo_con, number, AS_OF, [])
    assert origin == "overdue" and chosen

"""The Templates page through app.py with AppTest (the workspace of test_pages.py:
C00012 has FA-2026-0041 1234.56 and FA-2026-0077 12500.00 overdue on 2026-02-15,
and the credit note AV-2026-0003 -250.00)."""

from __future__ import annotations

import pytest

from dunning import store, templates
from tests.test_pages import (
    app,
    button,
    fresh_caches,
    navigation_only,
    spaced,
    workspace,
    workspace_file,
)

PAGE = "pages/templates.py"


def templates_page(customer: str = "C00012"):
    at = app().run()
    at.session_state["customer"] = customer
    at.switch_page(PAGE).run()
    assert not at.exception
    return at


def text_preview(at) -> str:
    return spaced(at.code[-1].value)


def test_page_previews_the_first_reminder_on_the_overdue_items(workspace):
    at = templates_page()
    assert at.title[0].value == "Templates"
    assert at.text_input(key="tpl_name").value == "relance-1-fr"
    text = text_preview(at)
    assert text.startswith("Bonjour")
    assert "FA-2026-0041" in text and "FA-2026-0077" in text
    assert "AV-2026-0003" not in text  # not overdue: not in the starting selection
    # 1234.56 + 12500.00 overdue
    assert "Le montant restant dû s'élève à 13 734,56 €." in text
    assert any(
        "Started from this customer's overdue items" in c.value for c in at.caption
    )
    assert not at.error


def test_an_unknown_hashtag_is_shown_as_blocking(workspace):
    at = templates_page()
    at.text_area(key="tpl_body").input("Montant : #items_amount_selectd").run()
    assert any("Did you mean #items_amount_selected" in e.value for e in at.error)


def test_starting_from_another_template(workspace):
    at = templates_page()
    at.selectbox(key="tpl_source").select("mise-en-demeure-fr").run()
    assert at.text_input(key="tpl_name").value == "mise-en-demeure-fr"
    assert at.selectbox(key="tpl_channel").value == "letter"
    assert "nous vous mettons en demeure" in text_preview(at)


def test_save_then_delete_a_template(workspace):
    at = templates_page()
    at.text_input(key="tpl_name").input("relance-douce").run()
    at.text_input(key="tpl_subject").input("Petit rappel #customer_number").run()
    button(at, "Save as template").click().run()
    assert [s.value for s in at.success] == ["Template relance-douce saved."]
    con = store.connect(workspace)
    assert [t.name for t in templates.saved(con)] == ["relance-douce"]
    con.close()

    button(at, "Delete saved template").click().run()
    assert [s.value for s in at.success] == ["Template relance-douce deleted."]
    con = store.connect(workspace)
    assert templates.saved(con) == []
    con.close()


def test_a_predefined_name_cannot_be_saved_over(workspace):
    at = templates_page()
    button(at, "Save as template").click().run()
    assert not at.exception
    assert any("predefined template" in e.value for e in at.error)


def test_the_basket_gives_the_starting_selection(workspace):
    con = store.connect(workspace)
    (item_id,) = con.execute(
        "SELECT item_id FROM items WHERE doc_number = 'FA-2026-0041'"
    ).fetchone()
    con.close()
    at = app().run()
    at.session_state["basket"] = frozenset({item_id})
    at.session_state["customer"] = "C00012"
    at.switch_page(PAGE).run()
    assert not at.exception
    text = text_preview(at)
    assert "FA-2026-0041" in text and "FA-2026-0077" not in text
    assert any("Started from the basket" in c.value for c in at.caption)


@pytest.mark.parametrize("name", ["#items_list_selected", "#penalty_rate"])
def test_the_palette_lists_the_hashtags(workspace, name):
    at = templates_page()
    palette = at.dataframe[-1].value
    assert name in list(palette["Hashtag"])


def test_template_problems_keep_their_underscores(workspace):
    # Shown raw, "'__mro__'" would read as a bold 'mro' in Markdown.
    at = templates_page()
    at.text_area(key="tpl_body").input("{{ ''.__class__.__mro__ }}").run()
    errors = [e.value for e in at.error]
    assert any(r"the attribute '\_\_class\_\_' is not allowed" in e for e in errors)
    assert any(r"the attribute '\_\_mro\_\_' is not allowed" in e for e in errors)
    assert not any("'__mro__'" in e for e in errors)

    # Saving it is refused with the same words, through the page's one error.
    at.text_input(key="tpl_name").input("essai").run()
    button(at, "Save as template").click().run()
    refused = [e.value for e in at.error if e.value.startswith("**Template refused.**")]
    assert refused and r"'\_\_mro\_\_'" in refused[0]

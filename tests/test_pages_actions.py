"""The Actions page and the composer, driven with AppTest on a real workspace file.

The workspace holds tests/data/echeancier_clients_cp1252.csv at the fixed today
2026-02-15; C00012 owes FA-2026-0041 1 234.56 and FA-2026-0077 12 500.00, so an
action on both claims 1 234.56 + 12 500.00 = 13 734.56 EUR.
"""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from test_pages import fresh_caches, navigation_only

from dunning import actions, importing, penalties, store

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"
TIMEOUT = 60
BODY = "Bonjour,\n\nMerci de régler #items_amount_selected.\n\nCordialement"


@pytest.fixture
def workspace(tmp_path, monkeypatch) -> Path:
    """The five items of case 01, a dunning contact and a sender for C00012."""
    path = tmp_path / "w.duckdb"
    monkeypatch.setenv("DUNNING_DB", str(path))
    ledger = tmp_path / "echeancier_clients_cp1252.csv"
    shutil.copyfile(DATA / ledger.name, ledger)
    con = store.connect(path)
    assert importing.import_file(con, ledger, importing.Options()).rows_loaded == 5
    con.execute(
        "INSERT INTO contacts (customer_number, name, role, email) VALUES "
        "('C00012', 'Caron, Julien', 'dunning', 'j.caron@boulangerie.example')"
    )
    store.set_setting(con, "sender.email", "relances@acme.example")
    con.close()
    return path


def plan(path: Path, **options) -> int:
    con = store.connect(path)
    try:
        items = penalties.item_ids(con, "C00012", ["FA-2026-0041", "FA-2026-0077"])
        values = {"type": "letter", "mode": "confirm", "planned_for": "2026-02-15"}
        values.update(options)
        return actions.create(
            con, "C00012", items, subject="Relance", body=BODY, **values
        )
    finally:
        con.close()


def status(path: Path, action_id: int) -> str:
    """An action's status, read through the app's own connection."""
    from pages import common

    with common.connection().cursor() as con:
        return actions.get(con, action_id)["status"]


def actions_page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    at.switch_page("pages/actions.py").run()
    assert not at.exception, at.exception
    return at


def button(at: AppTest, key: str):
    return next(b for b in at.button if b.key == key)


def spaced(text: str) -> str:
    """Babel's French grouping uses no-break spaces; compare with plain ones."""
    return text.replace("\u202f", " ").replace("\xa0", " ")


def texts(at: AppTest) -> str:
    return spaced(" ".join(m.value for m in at.markdown))


def test_page_renders_with_no_action(workspace):
    at = actions_page()
    assert not at.error
    assert "No planned action has reached its date." in [c.value for c in at.caption]


def test_confirm_action_carried_out_once_on_click_even_from_two_sessions(workspace):
    action_id = plan(workspace)
    first, second = actions_page(), actions_page()
    key = f"actions_carry_out_{action_id}"
    assert "13 734,56 €" in texts(first)
    button(first, key).click().run()
    assert not first.exception
    assert any("carried out" in s.value for s in first.success)
    # The second session still shows the button it drew before: its click finds
    # the action done and carries out nothing.
    button(second, key).click().run()
    assert any("not carried out again" in i.value for i in second.info)
    assert status(workspace, action_id) == "done"
    assert len(list((workspace.parent / "exports").iterdir())) == 1


def test_run_due_carries_out_automatic_actions_only(workspace):
    automatic = plan(workspace, mode="auto")
    confirm = plan(workspace)
    later = plan(workspace, mode="auto", planned_for="2026-03-01")
    at = actions_page()
    button(at, "actions_run_due").click().run()
    assert not at.exception
    assert any("1 carried out" in s.value for s in at.success)
    assert status(workspace, automatic) == "done"
    assert status(workspace, confirm) == "planned"
    assert status(workspace, later) == "planned"


def test_open_an_action_shows_items_then_and_now_and_cancel_it(workspace):
    action_id = plan(workspace, planned_for="2026-03-01")
    at = actions_page()
    at.selectbox(key="actions_open").select(action_id).run()
    assert not at.exception
    assert any(f"Action #{action_id}" in h.value for h in at.subheader)
    items = next(d.value for d in at.dataframe if "Document" in d.value.columns)
    assert list(items["Document"]) == ["FA-2026-0041", "FA-2026-0077"]
    then = [spaced(v) for v in items["Open amount then"]]
    assert then == ["1 234,56 €", "12 500,00 €"]

    button(at, f"actions_{action_id}_cancel").click().run()
    assert any("Say why" in e.value for e in at.error)  # no reason given
    at.text_input(key=f"actions_{action_id}_reason").input("Paid by phone").run()
    button(at, f"actions_{action_id}_cancel").click().run()
    assert status(workspace, action_id) == "cancelled"


def test_failed_action_is_listed_and_retried(workspace):
    con = store.connect(workspace)
    store.set_setting(con, "sender.email", "")
    con.close()
    action_id = plan(workspace, type="email")
    at = actions_page()
    button(at, f"actions_carry_out_{action_id}").click().run()
    assert any("failed" in e.value for e in at.error)
    at.segmented_control(key="actions_view").set_value("failed").run()
    assert list(at.dataframe[0].value["Action"]) == [action_id]
    at.selectbox(key="actions_open").select(action_id).run()
    button(at, f"actions_{action_id}_retry").click().run()
    assert status(workspace, action_id) == "planned"


# ---------------------------------------------------------------------------
# The composer, on a tiny page of its own


def composer_page(root: str, customer: str, item_ids: list[int]) -> None:
    import sys

    sys.path.insert(0, root)
    from pages import common, composer

    composer.composer(common.cursor(), customer, frozenset(item_ids))


def composer_app(workspace: Path, customer: str, docs: list[str]) -> AppTest:
    con = store.connect(workspace)
    items = penalties.item_ids(con, customer, docs) if docs else []
    con.close()
    at = AppTest.from_function(
        composer_page,
        args=(str(ROOT), customer, items),
        default_timeout=TIMEOUT,
    ).run()
    assert not at.exception, at.exception
    return at


def test_composer_validates_then_carries_out_a_letter(workspace):
    at = composer_app(workspace, "C00012", ["FA-2026-0041", "FA-2026-0077"])
    key = "composer_C00012_"
    at.selectbox(key=key + "type").select("letter").run()
    at.text_input(key=key + "subject").input("Relance #customer_name").run()
    at.text_area(key=key + "body").input(BODY).run()
    assert not at.exception
    assert any("Relance Boulangerie Lefèvre & Fils" in m.value for m in at.markdown)
    button(at, key + "validate").click().run()
    assert any("validated" in s.value for s in at.success)
    con = store.connect(workspace, create=False)
    [row] = actions.listing(con)
    assert (row["type"], row["status"], row["items"]) == ("letter", "planned", 2)
    # 1 234.56 + 12 500.00
    assert row["totals"]["EUR"]["amount_selected"] == Decimal("13734.56")
    con.close()
    button(at, key + "carry_out").click().run()
    assert any("carried out" in s.value for s in at.success)
    assert [p.suffix for p in (workspace.parent / "exports").iterdir()] == [".pdf"]


def test_composer_refuses_validation_while_a_hashtag_is_unknown(workspace):
    at = composer_app(workspace, "C00012", ["FA-2026-0041"])
    key = "composer_C00012_"
    at.selectbox(key=key + "type").select("letter").run()
    at.text_input(key=key + "subject").input("Relance").run()
    at.text_area(key=key + "body").input("Reste : #items_amount_selectd").run()
    assert any("items_amount_selectd" in e.value for e in at.error)
    assert button(at, key + "validate").disabled


def test_composer_email_without_contact_is_disabled_and_hashtags_insert(workspace):
    at = composer_app(workspace, "C00031", ["FA-2026-0102"])
    key = "composer_C00031_"
    assert any("no contact with an email" in w.value for w in at.warning)
    at.text_input(key=key + "subject").input("Relance").run()
    at.selectbox(key=key + "hashtag").select("items_amount_selected").run()
    button(at, key + "insert").click().run()
    assert at.text_area(key=key + "body").value == "#items_amount_selected"
    assert button(at, key + "validate").disabled


def test_composer_starts_from_a_template(workspace):
    at = composer_app(workspace, "C00012", ["FA-2026-0041"])
    key = "composer_C00012_"
    at.radio(key=key + "source").set_value("template").run()
    at.selectbox(key=key + "template").select("relance-1-fr").run()
    button(at, key + "use").click().run()
    assert not at.exception
    assert at.text_area(key=key + "body").value.strip()
    assert at.text_input(key=key + "subject").value.strip()


def test_batch_downloads_wait_for_ticked_actions_and_delivery_is_shown(workspace):
    action_id = plan(workspace, type="email")
    at = actions_page()
    button(at, f"actions_carry_out_{action_id}").click().run()
    assert not at.exception
    assert "Tick actions to download them together." in [c.value for c in at.caption]
    at.selectbox(key="actions_open").select(action_id).run()
    shown = texts(at).replace("\\", "")  # the page escapes Markdown characters
    assert f"**Delivery:** written action-{action_id}-C00012-email.eml" in shown


def test_composer_without_email_offers_a_letter_and_statement_files(workspace):
    at = composer_app(workspace, "C00031", ["FA-2026-0102"])
    key = "composer_C00031_"
    assert at.selectbox(key=key + "type").value == "email"
    button(at, key + "to_letter").click().run()
    assert not at.exception
    assert at.selectbox(key=key + "type").value == "letter"
    assert not any("no contact with an email" in w.value for w in at.warning)


# ---------------------------------------------------------------------------
# An action after a partial settlement; the composer once an action exists


def test_an_action_shows_validation_claimed_and_now_after_a_settlement(
    workspace, monkeypatch, tmp_path
):
    action_id = plan(workspace, mode="auto", planned_for="2026-02-20")
    con = store.connect(workspace)
    partial = tmp_path / "echeancier_C00012_partial.csv"
    shutil.copyfile(DATA / partial.name, partial)
    options = importing.Options(as_of=dt.date(2026, 2, 18))
    assert importing.import_file(con, partial, options).committed
    assert actions.run_due(con, "2026-02-20", workspace.parent / "exports").carried_out
    con.close()

    monkeypatch.setenv("DUNNING_TODAY", "2026-02-20")  # the sidebar's as-of date
    at = actions_page()
    table = next(d.value for d in at.dataframe if "Claimed when carried out" in d.value)
    # The list keeps the validated 1 234.56 + 12 500.00 beside the claimed 12 500.00
    assert spaced(table["At validation"][0]) == "13 734,56 €"
    assert spaced(table["Claimed when carried out"][0]) == "12 500,00 €"

    at.selectbox(key="actions_open").select(action_id).run()
    assert not at.exception
    shown = texts(at)
    # FA-2026-0077 6 days late on 2026-02-20: 12500 x 0.1215 x 6 / 365 = 24.97 + 40
    assert "At validation (EUR):** 13 734,56 € + penalties 90,32 €" in shown
    assert "Claimed when carried out (EUR):** 12 500,00 € + penalties 64,97 €" in shown
    assert "Open now (20/02/2026):** 12 500,00 €" in shown
    items = next(d.value for d in at.dataframe if "Open amount claimed" in d.value)
    assert [spaced(v) for v in items["Open amount then"]] == [
        "1 234,56 €",
        "12 500,00 €",
    ]
    assert [spaced(v) for v in items["Open amount claimed"]] == ["", "12 500,00 €"]
    assert [spaced(v) for v in items["Penalty claimed"]] == ["", "64,97 €"]
    assert [spaced(v) for v in items["Open amount now"]] == ["0,00 €", "12 500,00 €"]
    assert list(items["Status now"]) == ["Closed (no longer in the ledger)", "Open"]


def write_letter(at: AppTest, key: str) -> None:
    at.selectbox(key=key + "type").select("letter").run()
    at.text_input(key=key + "subject").input("Relance #customer_name").run()
    at.text_area(key=key + "body").input(BODY).run()


def test_composer_clears_the_draft_once_carried_out_and_names_the_claim(workspace):
    at = composer_app(workspace, "C00012", ["FA-2026-0041", "FA-2026-0077"])
    key = "composer_C00012_"
    write_letter(at, key)
    button(at, key + "validate").click().run()
    # The draft just validated: no second Validate, no warning about itself.
    assert button(at, key + "validate").disabled
    assert not any("claimed by action" in w.value for w in at.warning)

    button(at, key + "carry_out").click().run()
    [success] = [s.value for s in at.success]
    assert "Action #1 carried out: action-1-C00012-letter.pdf." in success
    assert "The draft is cleared" in success
    assert at.text_area(key=key + "body").value == ""
    assert at.text_input(key=key + "subject").value == ""
    assert button(at, key + "validate").disabled  # an empty body blocks
    assert not [b for b in at.button if b.key == key + "carry_out"]

    # Writing the same reminder again is possible, with the earlier one named.
    at.text_input(key=key + "subject").input("Relance #customer_name").run()
    at.text_area(key=key + "body").input(BODY).run()
    assert any(
        "FA-2026-0041, FA-2026-0077 were claimed by action #1 (letter, done "
        "15/02/2026)" in w.value
        for w in at.warning
    )
    con = store.connect(workspace, create=False)
    assert len(actions.listing(con)) == 1
    con.close()


def test_composer_refuses_an_empty_subject_and_warns_of_a_past_date(workspace):
    at = composer_app(workspace, "C00012", ["FA-2026-0041"])
    key = "composer_C00012_"
    at.selectbox(key=key + "type").select("letter").run()
    at.text_area(key=key + "body").input(BODY).run()
    assert any("The subject is empty: a letter needs one" in e.value for e in at.error)
    assert button(at, key + "validate").disabled
    at.text_input(key=key + "subject").input("Relance").run()
    at.date_input(key=key + "planned").set_value(dt.date(2020, 1, 1)).run()
    assert not at.error
    assert any(
        "Planned for 01/01/2020, in the past: it is due at once." in w.value
        for w in at.warning
    )
    assert not button(at, key + "validate").disabled


def test_a_letter_template_chosen_for_an_email_makes_it_a_letter(workspace):
    at = composer_app(workspace, "C00012", ["FA-2026-0041"])
    key = "composer_C00012_"
    assert at.selectbox(key=key + "type").value == "email"
    at.radio(key=key + "source").set_value("template").run()
    at.selectbox(key=key + "template").select("mise-en-demeure-fr").run()
    button(at, key + "use").click().run()
    assert not at.exception
    assert at.selectbox(key=key + "type").value == "letter"
    assert any(
        "mise-en-demeure-fr is written for letters: the action type is now Letter"
        in i.value
        for i in at.info
    )
    # Chosen back as an email, the composer warns before validating.
    at.selectbox(key=key + "type").select("email").run()
    assert any("written for the letter channel" in w.value for w in at.warning)


def test_composer_offers_dispute_resolved_after_carrying_out(workspace):
    from dunning import qualification

    con = store.connect(workspace)
    disputed = penalties.item_ids(con, "C00012", ["FA-2026-0041"])
    qualification.qualify(con, disputed, "disputed", "2026-02-10", "Wrong price")
    con.close()
    at = composer_app(workspace, "C00012", ["FA-2026-0041", "FA-2026-0077"])
    key = "composer_C00012_"
    write_letter(at, key)
    button(at, key + "validate").click().run()
    button(at, key + "carry_out").click().run()
    assert any("1 item(s) of action #1 are disputed" in i.value for i in at.info)
    button(at, key + "dispute_resolved").click().run()
    assert not at.exception
    assert any("1 item(s) marked dispute resolved." in s.value for s in at.success)
    con = store.connect(workspace, create=False)
    status = con.execute(
        "SELECT status FROM items WHERE item_id = ?", disputed
    ).fetchone()[0]
    con.close()
    assert status == "dispute_resolved"
    assert not [b for b in at.button if b.key == key + "dispute_resolved"]

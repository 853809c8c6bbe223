"""The Settings page, driven through app.py with AppTest on a real workspace file."""

from __future__ import annotations

from test_pages import (
    app,
    fresh_caches,
    navigation_only,
    workspace,
    workspace_file,
)

from dunning import settings, store

PAGE = "pages/settings.py"


def settings_page():
    at = app().run()
    at.switch_page(PAGE).run()
    assert not at.exception
    return at


def text_input(at, label: str):
    return next(w for w in at.text_input if w.label == label)


def submit(at, label: str):
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception
    return at


def stored(workspace_file) -> dict:
    con = store.connect(workspace_file)
    try:
        return settings.editable(con)
    finally:
        con.close()


def test_settings_page_renders_with_sending_not_configured(workspace):
    at = settings_page()
    assert not at.error
    page_text = " ".join(m.value for m in at.markdown)
    assert "not configured" in page_text


def test_company_details_are_saved(workspace):
    at = settings_page()
    text_input(at, "Company name").input("Recouvrement Dupont SARL")
    text_input(at, "IBAN").input("gb82west12345698765432")
    at = submit(at, "Save company details")
    assert [s.value for s in at.success] == ["Company details saved."]
    values = stored(workspace)
    assert values["company.name"] == "Recouvrement Dupont SARL"
    assert values["company.iban"] == "GB82 WEST 1234 5698 7654 32"


def test_a_wrong_iban_is_refused_and_nothing_of_the_form_is_stored(workspace):
    at = settings_page()
    text_input(at, "Company name").input("Should not be kept")
    # The published example FR76 3000 6000 0112 3456 7890 189 with its last digit
    # changed: mod 97 no longer gives 1.
    text_input(at, "IBAN").input("FR76 3000 6000 0112 3456 7890 188")
    at = submit(at, "Save company details")
    assert any("IBAN" in e.value for e in at.error)
    assert stored(workspace)["company.name"] == ""


def test_defaults_are_saved(workspace):
    at = settings_page()
    text_input(at, "Payment terms (days)").input("45")
    text_input(at, "Currency").input("usd")
    at = submit(at, "Save defaults")
    values = stored(workspace)
    assert values["defaults.payment_terms_days"] == 45
    assert values["defaults.currency"] == "USD"


def test_smtp_from_the_environment_names_its_source_and_hides_the_password(
    workspace, monkeypatch
):
    monkeypatch.setenv("DUNNING_SMTP_HOST", "mail.example.com")
    monkeypatch.setenv("DUNNING_SMTP_FROM", "relances@example.com")
    monkeypatch.setenv("DUNNING_SMTP_PASSWORD", "pa55-word-never-shown")
    at = settings_page()
    page_text = " ".join(m.value for m in at.markdown)
    assert "`mail.example.com` *(environment)*" in page_text
    assert "password set *(environment)*" in page_text
    everything = page_text + " ".join(str(w.value) for w in at.text_input)
    assert "pa55-word-never-shown" not in everything


def test_send_test_email_reaches_the_server_and_says_so(
    workspace, smtp_server, monkeypatch
):
    for name, value in smtp_server.env(login=True).items():
        monkeypatch.setenv(name, value)
    at = settings_page()
    recipient = text_input(at, "Test recipient")
    assert recipient.value == "relances@example.com"  # the sender, by default
    recipient.input("claire@acme.example")
    at = submit(at, "Send test email")
    assert [s.value for s in at.success] == [
        "Test email sent to claire@acme.example: check that it arrived."
    ]
    [received] = smtp_server.received
    assert received.rcpt_tos == ["claire@acme.example"]


def test_send_test_email_failure_is_shown_without_the_password(
    workspace, smtp_server, monkeypatch
):
    for name, value in smtp_server.env(login=True).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DUNNING_SMTP_PASSWORD", "wr0ng-but-secret")
    at = submit(settings_page(), "Send test email")
    [error] = at.error
    assert "login of user 'relance' was refused" in error.value
    page = " ".join(
        [e.value for e in at.error]
        + [m.value for m in at.markdown]
        + [str(w.value) for w in at.text_input]
    )
    assert "wr0ng-but-secret" not in page
    assert smtp_server.received == []


def test_send_test_email_is_disabled_until_sending_is_configured(workspace):
    at = settings_page()
    assert next(b for b in at.button if b.label == "Send test email").disabled

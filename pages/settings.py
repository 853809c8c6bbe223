"""Settings page: company and sender details, workspace defaults, email (SMTP)."""

from __future__ import annotations

import base64

import streamlit as st

from dunning import customers, sending, settings
from dunning.errors import DunningError
from pages import common

LANGUAGE_LABELS = {"fr": "French", "en": "English"}
SECURITY_LABELS = {
    "none": "None (port 25, local relays only)",
    "starttls": "STARTTLS (port 587)",
    "ssl": "SSL/TLS (port 465)",
}
REFERENCE_LABELS = {
    "split": "Split at 1 January / 1 July, each part at its own rate",
    "due_half_year": "Rate of the half-year the invoice fell due, for the whole delay",
}
SAVED = "settings_saved"
TEST_RESULT = "settings_test_result"
TEST_TO = "settings_test_to"


def save(changes: dict, what: str) -> None:
    """Store a form's values (all or none) and say so on the next run."""
    with common.cursor() as con:
        try:
            settings.update(con, changes)
        except DunningError as error:
            common.show_error(error)
            return
    common.data_changed()
    st.session_state[SAVED] = what
    st.rerun()


def company_form(values: dict) -> None:
    st.subheader("Company and sender")
    st.caption("Printed on letters and used as the sender of emails.")
    with st.form("settings_company"):
        left, right = st.columns(2)
        changes = {
            "company.name": left.text_input("Company name", values["company.name"]),
            "company.address": left.text_area(
                "Postal address", values["company.address"], height=110
            ),
            "company.iban": left.text_input(
                "IBAN", values["company.iban"], help="Checked with its check digits."
            ),
            "sender.name": right.text_input("Sender name", values["sender.name"]),
            "sender.email": right.text_input(
                "Sender email", values["sender.email"], placeholder="name@example.com"
            ),
            "sender.phone": right.text_input("Sender phone", values["sender.phone"]),
        }
        if st.form_submit_button("Save company details"):
            save(changes, "Company details saved.")


def logo_section(logo: str) -> None:
    st.markdown("**Logo** (PNG or JPEG, at most 512 KB, kept in the workspace)")
    if logo:
        data = logo.partition(",")[2]
        st.image(base64.b64decode(data), width=160)
        if st.button("Remove the logo"):
            with common.cursor() as con:
                settings.clear_logo(con)
            st.session_state[SAVED] = "Logo removed."
            st.rerun()
    upload = st.file_uploader("Upload a logo", type=["png", "jpg", "jpeg"])
    if upload is not None and st.button("Use this logo"):
        with common.cursor() as con:
            try:
                settings.set_logo(con, upload.name, upload.getvalue())
            except DunningError as error:
                common.show_error(error)
                return
        st.session_state[SAVED] = "Logo saved."
        st.rerun()


def defaults_form(values: dict) -> None:
    st.subheader("Workspace defaults")
    st.caption(
        "Customers created by an import take these; each customer's record can "
        "change them."
    )
    rules = customers.PENALTY_RULES
    references = settings.FR_RATE_REFERENCES
    with st.form("settings_defaults"):
        left, right = st.columns(2)
        changes = {
            "defaults.language": left.selectbox(
                "Language",
                customers.LANGUAGES,
                index=customers.LANGUAGES.index(values["defaults.language"]),
                format_func=LANGUAGE_LABELS.get,
            ),
            "defaults.currency": left.text_input(
                "Currency", values["defaults.currency"], max_chars=3
            ),
            "defaults.payment_terms_days": left.text_input(
                "Payment terms (days)", str(values["defaults.payment_terms_days"])
            ),
            "defaults.penalty_rule": right.selectbox(
                "Penalty rule",
                rules,
                index=rules.index(values["defaults.penalty_rule"]),
            ),
            "defaults.indemnity_enabled": right.checkbox(
                "Fixed recovery indemnity", values["defaults.indemnity_enabled"]
            ),
            "penalties.fr_rate_reference": right.radio(
                "French legal rate over several half-years",
                references,
                index=references.index(values["penalties.fr_rate_reference"]),
                format_func=REFERENCE_LABELS.get,
            ),
        }
        if st.form_submit_button("Save defaults"):
            save(changes, "Defaults saved.")


def smtp_section(values: dict) -> None:
    st.subheader("Email (SMTP)")
    st.caption(
        "Environment variables (DUNNING_SMTP_*) win over `.streamlit/secrets.toml`, "
        "which wins over the values below. The password is read only from the "
        "environment or the secrets file and is never shown."
    )
    with common.cursor() as con:
        try:
            found = settings.smtp(con)
        except DunningError as error:
            common.show_error(error)
            found = None
    if found is not None:
        st.markdown(effective_smtp(found))
    securities = settings.SECURITIES
    with st.form("settings_smtp"):
        left, right = st.columns(2)
        changes = {
            "smtp.host": left.text_input("Host", values["smtp.host"]),
            "smtp.port": left.text_input(
                "Port", str(values["smtp.port"]), placeholder="default of the security"
            ),
            "smtp.security": left.selectbox(
                "Security",
                securities,
                index=securities.index(values["smtp.security"] or "none"),
                format_func=SECURITY_LABELS.get,
            ),
            "smtp.user": right.text_input("Login", values["smtp.user"]),
            "smtp.from": right.text_input(
                "From address", values["smtp.from"], placeholder="relances@example.com"
            ),
        }
        if st.form_submit_button("Save email settings"):
            save(changes, "Email settings saved.")
    test_email(found, values)


def test_email(found: settings.Smtp | None, values: dict) -> None:
    """Send one short message with the connection in force, to check it."""
    st.markdown("**Send a test email**")
    if TEST_TO not in st.session_state:
        st.session_state[TEST_TO] = values["sender.email"] or (
            found.sender if found else ""
        )
    configured = found is not None and found.configured
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.text_input("Test recipient", key=TEST_TO, placeholder="name@example.com")
        st.button(
            "Send test email",
            key="settings_send_test",
            disabled=not configured,
            help=None if configured else "Configure a host and a From address first.",
            on_click=send_test,
        )
    kind, text = st.session_state.pop(TEST_RESULT, (None, None))
    if kind == "success":
        st.success(text)
    elif kind == "error":
        st.error(text)


def send_test() -> None:
    """The click: send the test email and keep the result for the next run."""
    to = st.session_state.get(TEST_TO, "")
    try:
        with common.cursor() as con:
            sent = sending.send_test(con, to)
    except DunningError as error:
        st.session_state[TEST_RESULT] = ("error", f"**{error.title}.** {error}")
        return
    st.session_state[TEST_RESULT] = (
        "success",
        f"Test email sent to {', '.join(sent.recipients)}: check that it arrived.",
    )


def effective_smtp(found: settings.Smtp) -> str:
    """The connection that will be used, each value with where it came from."""

    def source(field: str) -> str:
        return f" *({found.sources[field]})*" if field in found.sources else ""

    if not found.configured:
        return (
            "Sending is **not configured**: give at least a host and a From address. "
            "Emails can still be written as `.eml` files."
        )
    password = "set" if found.password else "not set"
    return "\n".join(
        [
            f"- Host: `{found.host}`{source('host')}, port {found.port}"
            f"{source('port')}, security {found.security}{source('security')}",
            f"- Login: {common.markdown_text(found.user or 'none')}{source('user')}"
            f", password {password}{source('password')}",
            f"- From: {common.markdown_text(found.sender)}{source('from')}",
        ]
    )


st.title("Settings")
if message := st.session_state.pop(SAVED, None):
    st.success(message)
with common.cursor() as con:
    current = settings.editable(con)
    logo = settings.company(con).logo
company_form(current)
logo_section(logo)
st.divider()
defaults_form(current)
st.divider()
smtp_section(current)

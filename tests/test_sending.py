"""Email messages: recipients from the contacts, headers that cannot be injected,
both parts and the attachment, read back with the `email` package (case 10)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import socket
from email import policy
from email.parser import BytesParser

import openpyxl
import pytest

from dunning import importing, sending, settings, store
from dunning.errors import InvalidValue, SendingFailed
from dunning.sending import Mailbox

SENDER = Mailbox("Acme Recouvrement", "relances@acme.example")
CARON = Mailbox("Caron, Julien", "j.caron@imprimerie-caron.example")


def parsed(message):
    return BytesParser(policy=policy.default).parsebytes(message.as_bytes())


def build(**changes):
    options = {
        "sender": SENDER,
        "to": [CARON],
        "subject": "Relance impayés – 1 234,56 €",
        "text": "Bonjour,\nreste dû : 1 234,56 €.",
        "html": "<p>Bonjour,</p><p>reste dû : <b>1 234,56 €</b>.</p>",
        "date": dt.datetime(2026, 2, 15, 9, 30),
    }
    options.update(changes)
    return sending.build_message(**options)


def test_message_read_back_has_its_headers_both_parts_and_the_attachment():
    message = parsed(
        build(
            cc=[Mailbox("", "compta@acme.example")],
            attachment=sending.Attachment('Relevé "C00077"/\r\nBcc:x.pdf', b"%PDF-1.7"),
        )
    )
    assert message["From"] == "Acme Recouvrement <relances@acme.example>"
    # The comma stays inside the quoted display name: one mailbox.
    assert message["To"] == '"Caron, Julien" <j.caron@imprimerie-caron.example>'
    assert [a.addr_spec for a in message["To"].addresses] == [CARON.email]
    assert message["Cc"] == "compta@acme.example"
    assert message["Subject"] == "Relance impayés – 1 234,56 €"
    assert message["Bcc"] is None
    assert message["Message-ID"].endswith("@acme.example>")
    plain = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert plain == "Bonjour,\nreste dû : 1 234,56 €.\n"
    html = message.get_body(("html",)).get_content()
    assert "<b>1 234,56 €</b>" in html
    [attachment] = message.iter_attachments()
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "Releve_C00077_Bcc_x.pdf"
    assert attachment.get_content() == b"%PDF-1.7"


def test_non_ascii_subject_is_encoded_on_the_wire():
    raw = build().as_bytes()
    subject_line = next(
        line for line in raw.split(b"\r\n") if line.startswith(b"Subject:")
    )
    assert b"=?utf-8?" in subject_line
    assert all(byte < 128 for byte in raw)


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"subject": "Relance\r\nBcc: x@attaquant.example"}, "subject"),
        ({"subject": "Relance =?UTF-8?Q?=0A?=Bcc: x@attaquant.example"}, "subject"),
        ({"to": [Mailbox("Laure Petit\nBcc: x@y.example", "l@p.example")]}, "To name"),
        (
            {"to": [Mailbox("=?UTF-8?Q?Compta=0ABcc:_x@y.example?=", "a@b.example")]},
            "To name",
        ),
        ({"to": [Mailbox("", "f@bureau.example\r\nBcc: x@y.example")]}, "To address"),
        (
            {"to": [Mailbox("", "r@traiteur.example%0d%0aBcc:x@y.example")]},
            "To address",
        ),
        ({"to": [Mailbox("", "a@b.example; c@d.example")]}, "To address"),
        ({"to": []}, "recipient"),
        ({"subject": ""}, "subject"),
        ({"cc": [Mailbox("", "not an address")]}, "Cc address"),
    ],
)
def test_header_values_that_could_inject_are_refused_naming_the_field(changes, field):
    with pytest.raises(InvalidValue, match=field):
        build(**changes)


def test_mailboxes_typed_one_per_line_keep_commas_in_names():
    typed = (
        "Caron, Julien <j.caron@imprimerie-caron.example>\n\n"
        '"Roy, Paul" <p@r.example>\n'
        "solo@x.example"
    )
    boxes = sending.parse_mailboxes("To", typed)
    assert boxes == (
        CARON,
        Mailbox("Roy, Paul", "p@r.example"),
        Mailbox("", "solo@x.example"),
    )
    assert sending.parse_mailboxes("To", sending.format_mailboxes(boxes)) == boxes
    with pytest.raises(InvalidValue, match="To"):
        sending.parse_mailboxes("To", "Caron, Julien j.caron@example.com")


def test_write_eml_never_overwrites(tmp_path):
    message = build()
    first = sending.write_eml(message, tmp_path, "action-1")
    second = sending.write_eml(message, tmp_path, "action-1")
    assert (first.name, second.name) == ("action-1.eml", "action-1-2.eml")
    assert parsed_file(first)["To"] == message["To"]


def parsed_file(path):
    return BytesParser(policy=policy.default).parsebytes(path.read_bytes())


# ---------------------------------------------------------------------------
# Recipients


def add(con, customer, name, role, email):
    con.execute(
        "INSERT INTO contacts (customer_number, name, role, email) VALUES (?, ?, ?, ?)",
        [customer, name, role, email],
    )


def test_dunning_contact_first_then_billing_then_a_fallback_said_so(con):
    add(con, "C1", "Factures", "billing", "factures@c1.example")
    add(con, "C1", "Direction", "management", "dg@c1.example")
    add(con, "C1", "Relances", "dunning", "relances@c1.example")
    add(con, "C2", "Relances", "dunning", "relances@c2.example")  # other customer
    assert sending.recipients(con, "C1") == sending.Recipients(
        to=(Mailbox("Relances", "relances@c1.example"),)
    )
    con.execute(
        "DELETE FROM contacts WHERE role = 'dunning' AND customer_number = 'C1'"
    )
    assert sending.recipients(con, "C1").to == (
        Mailbox("Factures", "factures@c1.example"),
    )
    assert sending.recipients(con, "C1").fallback_note is None
    con.execute("DELETE FROM contacts WHERE role = 'billing'")
    fallback = sending.recipients(con, "C1")
    assert fallback.to == (Mailbox("Direction", "dg@c1.example"),)
    assert "No dunning or billing contact" in fallback.fallback_note
    con.execute("DELETE FROM contacts WHERE customer_number = 'C1'")
    none = sending.recipients(con, "C1")
    assert not none.sendable and "letter" in none.disabled_reason


def test_hostile_contacts_of_case_10_never_yield_a_bcc_or_another_recipient(
    con, data_file
):
    importing.import_file(con, data_file("contacts_clients.csv"), importing.Options())
    expected = {
        "C00071": ("Mme Claire Perrin <compta@menuiserie-perrin.example>",),
        "C00076": (
            # the importer split "a; b" into two contacts; the dot is quoted
            '"M. Paul Roy" <compta@optique-roy.example>',
            '"M. Paul Roy" <direction@optique-roy.example>',
        ),
        "C00077": ('"Caron, Julien" <j.caron@imprimerie-caron.example>',),
    }
    for number in [f"C0007{n}" for n in range(1, 8)]:
        chosen = sending.recipients(con, number)
        if number not in expected:
            # refused at import (CR LF, %0d%0a, LF in the name) or here (an
            # encoded-word name): nothing to send to
            assert not chosen.sendable, number
            continue
        message = parsed(build(to=chosen.to))
        assert tuple(str(a) for a in message["To"].addresses) == expected[number]
        assert message["Bcc"] is None and message["Cc"] is None
        assert len(message.get_all("To")) == 1


# ---------------------------------------------------------------------------
# Sending through a real SMTP server (aiosmtpd on 127.0.0.1, tests/conftest.py)


def smtp_of(server, monkeypatch, con, login: bool = False, **changes):
    """The connection settings.smtp resolves from the server's DUNNING_SMTP_*."""
    values = server.env(login=login)
    values.update(changes)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return settings.smtp(con)


def test_send_uses_the_validated_list_as_envelope_and_logs_in(
    con, smtp_server, monkeypatch
):
    smtp = smtp_of(smtp_server, monkeypatch, con, login=True)
    message = build(cc=[Mailbox("Compta", "compta@acme.example")])
    sent = sending.send(
        smtp, message, sending.envelope([CARON], [Mailbox("", "compta@acme.example")])
    )
    [received] = smtp_server.received
    assert received.mail_from == "relances@example.com"
    assert received.rcpt_tos == [CARON.email, "compta@acme.example"]
    assert sent.recipients == tuple(received.rcpt_tos) and sent.refused == ()
    assert received.message["Message-ID"] == sent.message_id == message["Message-ID"]
    assert received.message["To"] == message["To"]
    assert received.message["Bcc"] is None


def test_envelope_validates_each_address_and_lists_each_once():
    boxes = [CARON, Mailbox("Again", CARON.email.upper())]
    assert sending.envelope(boxes) == (CARON.email,)
    with pytest.raises(InvalidValue, match="recipient address"):
        sending.envelope([Mailbox("", "a@b.example\r\nRCPT TO:<x@y.example>")])


def test_a_refused_login_is_one_sentence_without_the_password(
    con, smtp_server, monkeypatch
):
    smtp = smtp_of(
        smtp_server, monkeypatch, con, login=True, DUNNING_SMTP_PASSWORD="wr0ng-pw"
    )
    with pytest.raises(SendingFailed) as failure:
        sending.send(smtp, build(), [CARON.email])
    text = str(failure.value)
    assert f"127.0.0.1:{smtp_server.port}" in text
    assert "login of user 'relance' was refused" in text
    assert "wr0ng-pw" not in text and "1 234,56" not in text
    assert smtp_server.received == []


def test_starttls_asked_of_a_server_without_it_sends_nothing(
    con, smtp_server, monkeypatch
):
    smtp = smtp_of(smtp_server, monkeypatch, con, DUNNING_SMTP_SECURITY="starttls")
    with pytest.raises(SendingFailed, match="does not offer STARTTLS"):
        sending.send(smtp, build(), [CARON.email])
    assert smtp_server.received == []


def test_ssl_against_a_plain_server_and_a_closed_port_fail_clearly(
    con, smtp_server, monkeypatch
):
    smtp = smtp_of(smtp_server, monkeypatch, con, DUNNING_SMTP_SECURITY="ssl")
    with pytest.raises(SendingFailed, match="TLS handshake failed"):
        sending.send(smtp, build(), [CARON.email])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    smtp = smtp_of(smtp_server, monkeypatch, con, DUNNING_SMTP_PORT=str(free))
    with pytest.raises(SendingFailed, match=f"127.0.0.1:{free} failed: the connec"):
        sending.send(smtp, build(), [CARON.email])
    assert smtp_server.received == []


def test_not_configured_refuses_to_send(con):
    with pytest.raises(SendingFailed, match="not configured"):
        sending.send(settings.smtp(con), build(), [CARON.email])


def test_send_test_reaches_the_address_typed(con, smtp_server, monkeypatch):
    smtp_of(smtp_server, monkeypatch, con, login=True)
    store.set_setting(con, "company.name", "Acme SAS")
    sent = sending.send_test(con, "claire@acme.example")
    [received] = smtp_server.received
    assert received.rcpt_tos == ["claire@acme.example"] == list(sent.recipients)
    assert received.message["Subject"] == "Test email from Acme SAS"
    assert received.message["From"].addresses[0].addr_spec == "relances@example.com"
    with pytest.raises(InvalidValue, match="test recipient"):
        sending.send_test(con, "claire@acme.example\nBcc: x@y.example")
    assert len(smtp_server.received) == 1


# ---------------------------------------------------------------------------
# Statements as spreadsheets

HOSTILE_LEDGER = (
    "Code client;Raison sociale;Type pièce;N° pièce;Libellé;Date pièce;"
    "Date échéance;Montant TTC;Devise;Reste dû\n"
    "C00040;=cmd|' /C calc'!A0;Facture;FU-2026-0005;"
    '=HYPERLINK("http://evil.example");15/01/2026;14/02/2026;2 000,00;EUR;2 000,00\n'
    "C00040;=cmd|' /C calc'!A0;Facture;FU-2026-0009;@SUM(A1);20/01/2026;"
    "19/02/2026;149,99;EUR;149,99\n"
)


def test_statement_csv_and_xlsx_neutralise_formula_cells(con, tmp_path):
    path = tmp_path / "hostile.csv"
    path.write_text(HOSTILE_LEDGER, encoding="utf-8")
    importing.import_file(con, path)
    ids = [row[0] for row in con.execute("SELECT item_id FROM items").fetchall()]
    as_of = dt.date(2026, 2, 15)

    rows = list(
        csv.reader(
            io.StringIO(
                sending.statement_file(con, ids, as_of, ".csv").decode("utf-8-sig")
            )
        )
    )
    assert [(r[1], r[2], r[8], r[11]) for r in rows[1:]] == [
        (
            "'=cmd|' /C calc'!A0",
            "FU-2026-0005",
            "2000.00",
            '\'=HYPERLINK("http://evil.example")',
        ),
        ("'=cmd|' /C calc'!A0", "FU-2026-0009", "149.99", "'@SUM(A1)"),
    ]

    workbook = openpyxl.load_workbook(
        io.BytesIO(sending.statement_file(con, ids, as_of, ".xlsx"))
    )
    sheet = workbook.active
    name, reference = sheet["B2"], sheet["L2"]
    assert (name.value, name.data_type, name.quotePrefix) == (
        "=cmd|' /C calc'!A0",
        "s",
        True,
    )
    assert (reference.data_type, reference.quotePrefix) == ("s", True)
    assert sheet["I2"].value == 2000  # amounts stay numbers
    assert sending.statement_name("C00040", as_of, ".xlsx") == (
        "statement-C00040-2026-02-15.xlsx"
    )
    with pytest.raises(InvalidValue, match="csv"):
        sending.statement_file(con, ids, as_of, ".pdf")

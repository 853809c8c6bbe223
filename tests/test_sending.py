"""Email messages: recipients from the contacts, headers that cannot be injected,
both parts and the attachment, read back with the `email` package (case 10)."""

from __future__ import annotations

import datetime as dt
from email import policy
from email.parser import BytesParser

import pytest

from dunning import importing, sending
from dunning.errors import InvalidValue
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

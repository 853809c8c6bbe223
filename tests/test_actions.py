"""Actions from validation to output, carried out at most once.

Two ledgers, each imported into a real workspace file:

postes_C00077.csv (case 07), customer C00077 at the as-of date 2025-09-15:
  FA-2025-0412 12 000.00 due 2025-05-20: 118 days late, interest 177.2548 (41 days
      at 13.15 %) + 307.5781 (77 days at 12.15 %) = 484.8329 -> 484.83; indemnity
      40.00; penalty 524.83
  FA-2025-0671  2 400.00 due 2025-09-14: 1 day late, 2400 x 12.15 % / 365 =
      0.7989 -> 0.80; indemnity 40.00; penalty 40.80
  both: amount selected 14 400.00, interest 485.63, indemnity 80.00, penalties
      565.63, including penalties 14 965.63

echeancier_clients_cp1252.csv (case 01), customer C00012 at today 2026-02-15:
  FA-2026-0041 1 234.56, FA-2026-0077 12 500.00, AV-2026-0003 -250.00 (credit note)
"""

from __future__ import annotations

import csv
import datetime as dt
import threading
from decimal import Decimal
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest

from dunning import actions, importing, penalties, qualification, store
from dunning.errors import InvalidValue

BODY = (
    "Bonjour #contact_name,\n\n"
    "Nous restons dans l'attente de #items_amount_selected.\n\n"
    "#items_list_selected\n\nCordialement"
)
SUBJECT = "Relance #customer_name"


def load(con, data_file, name: str, as_of: str | None = None, **options):
    report = importing.import_file(
        con,
        data_file(name),
        importing.Options(as_of=dt.date.fromisoformat(as_of) if as_of else None),
        **options,
    )
    assert report.committed, report.errors
    return report


@pytest.fixture
def c77(con, data_file):
    """C00077's three items (case 07)."""
    load(con, data_file, "postes_C00077.csv")
    return con


@pytest.fixture
def c12(con, data_file):
    """The five items of case 01, a dunning contact and a sender for C00012."""
    load(con, data_file, "echeancier_clients_cp1252.csv", "2026-02-15")
    con.execute(
        "INSERT INTO contacts (customer_number, name, role, email) VALUES "
        "('C00012', 'Caron, Julien', 'dunning', 'j.caron@boulangerie.example')"
    )
    store.set_setting(con, "sender.email", "relances@acme.example")
    store.set_setting(con, "company.name", "Acme SAS")
    return con


def ids(con, customer: str, *docs: str) -> list[int]:
    return penalties.item_ids(con, customer, docs)


def letter(con, customer="C00012", docs=("FA-2026-0041", "FA-2026-0077"), **kw):
    options = {"type": "letter", "mode": "auto", "planned_for": "2026-02-20"}
    options.update(kw)
    return actions.create(
        con, customer, ids(con, customer, *docs), subject=SUBJECT, body=BODY, **options
    )


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# ---------------------------------------------------------------------------
# Creating


def test_create_keeps_each_item_as_it_is_and_a_created_event(c77, monkeypatch):
    monkeypatch.setenv("DUNNING_USER", "claire")
    action_id = letter(
        c77,
        "C00077",
        ("FA-2025-0412", "FA-2025-0671"),
        as_of="2025-09-15",
        planned_for="2025-09-20",
    )
    shown = actions.show(c77, action_id, dt.date(2025, 9, 15))
    assert (shown["status"], shown["type"], shown["mode"]) == (
        "planned",
        "letter",
        "auto",
    )
    assert shown["planned_for"] == dt.date(2025, 9, 20)
    then = {
        i["doc_number"]: (
            i["open_amount_at_action"],
            i["days_late_at_action"],
            i["interest_at_action"],
            i["indemnity_at_action"],
            i["penalty_at_action"],
        )
        for i in shown["items"]
    }
    assert then == {
        # 177.2548 + 307.5781 = 484.8329 -> 484.83; + 40.00 indemnity
        "FA-2025-0412": (
            Decimal("12000.00"),
            118,
            Decimal("484.83"),
            Decimal("40.00"),
            Decimal("524.83"),
        ),
        # 2400 x 0.1215 / 365 = 0.7989 -> 0.80; + 40.00 indemnity
        "FA-2025-0671": (
            Decimal("2400.00"),
            1,
            Decimal("0.80"),
            Decimal("40.00"),
            Decimal("40.80"),
        ),
    }
    assert shown["totals"] == {
        "EUR": {
            "amount_selected": Decimal("14400.00"),  # 12000 + 2400
            "interest": Decimal("485.63"),  # 484.83 + 0.80
            "indemnity": Decimal("80.00"),  # 2 x 40
            "penalties": Decimal("565.63"),  # 485.63 + 80
            "amount_including_penalties": Decimal("14965.63"),  # 14400 + 565.63
        }
    }
    assert "14 400,00" in shown["rendered_text"].replace("\u202f", " ")
    assert [(e["event"], e["author"]) for e in shown["events"]] == [
        ("created", "claire")
    ]
    assert shown["created_by"] == "claire"


def test_create_refuses_while_something_blocks_and_stores_nothing(c12):
    with pytest.raises(InvalidValue, match="cannot be validated"):
        actions.create(
            c12,
            "C00012",
            ids(c12, "C00012", "FA-2026-0041"),
            "letter",
            "Relance",
            "Montant : #items_amount_selectd",  # unknown hashtag
        )
    with pytest.raises(InvalidValue, match="no items"):
        actions.create(c12, "C00012", [], "letter", "Relance", BODY)
    assert c12.execute("SELECT count(*) FROM actions").fetchone()[0] == 0
    assert c12.execute("SELECT count(*) FROM action_items").fetchone()[0] == 0
    assert c12.execute("SELECT count(*) FROM action_events").fetchone()[0] == 0


def test_create_refuses_items_of_another_customer_and_bad_values(c12):
    other = ids(c12, "C00027", "FA-2025-1198")
    with pytest.raises(InvalidValue, match="not items of customer C00012"):
        actions.create(c12, "C00012", other, "letter", "Relance", BODY)
    with pytest.raises(InvalidValue, match="type 'fax'"):
        actions.create(c12, "C00012", other, "fax", "Relance", BODY)
    with pytest.raises(InvalidValue, match="mode"):
        letter(c12, mode="sometimes")


def test_email_needs_a_recipient(c12):
    # C00031 has no contact at all: an email is refused, a letter is not.
    items = ids(c12, "C00031", "FA-2026-0102")
    with pytest.raises(InvalidValue, match="no contact with an email"):
        actions.create(c12, "C00031", items, "email", "Relance", BODY)
    assert actions.create(c12, "C00031", items, "letter", "Relance", BODY) == 1


# ---------------------------------------------------------------------------
# Changing


def test_reschedule_cancel_retry_each_recorded_with_author(c12, tmp_path):
    action_id = letter(c12)
    actions.reschedule(c12, action_id, "2026-03-01", author="marc")
    assert actions.get(c12, action_id)["planned_for"] == dt.date(2026, 3, 1)
    with pytest.raises(InvalidValue, match="reason"):
        actions.cancel(c12, action_id, "  ")
    actions.cancel(c12, action_id, "Customer called: paying Friday", author="marc")
    cancelled = actions.show(c12, action_id)
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancel_reason"] == "Customer called: paying Friday"
    assert len(cancelled["items"]) == 2  # the record and its items stay
    with pytest.raises(InvalidValue, match="cancelled"):
        actions.retry(c12, action_id)
    events = [(e["event"], e["author"], e["detail"]) for e in cancelled["events"]]
    assert events[1:] == [
        ("rescheduled", "marc", "from 2026-02-20 to 2026-03-01"),
        ("cancelled", "marc", "Customer called: paying Friday"),
    ]
    # A cancelled action is never carried out.
    outcome = actions.carry_out(c12, action_id, tmp_path / "out")
    assert not outcome.carried_out and files(tmp_path / "out") == []


def test_failure_is_stored_and_retryable(c12, tmp_path):
    store.set_setting(c12, "sender.email", "")  # no sender: the .eml cannot be built
    action_id = letter(c12, type="email")
    outcome = actions.carry_out(c12, action_id, tmp_path / "out")
    assert outcome.status == "failed" and "sender" in outcome.error
    failed = actions.get(c12, action_id)
    assert failed["status"] == "failed" and "sender" in failed["error"]
    assert files(tmp_path / "out") == []

    actions.retry(c12, action_id, "2026-02-16", author="marc")
    assert actions.get(c12, action_id)["status"] == "planned"
    store.set_setting(c12, "sender.email", "relances@acme.example")
    outcome = actions.carry_out(c12, action_id, tmp_path / "out")
    assert outcome.carried_out and outcome.output.suffix == ".eml"
    events = [e["event"] for e in actions.events(c12, action_id)]
    assert events == ["created", "failed", "retried", "done"]
    assert actions.get(c12, action_id)["attempts"] == 2


# ---------------------------------------------------------------------------
# At most once


def test_carry_out_twice_writes_one_pdf(c12, tmp_path):
    out = tmp_path / "out"
    action_id = letter(c12)
    first = actions.carry_out(c12, action_id, out)
    second = actions.carry_out(c12, action_id, out)
    assert first.carried_out and first.output.suffix == ".pdf"
    assert not second.carried_out and second.status == "done"
    assert files(out) == [first.output.name]
    assert [e["event"] for e in actions.events(c12, action_id)] == ["created", "done"]


def test_two_run_due_carry_out_once(c12, tmp_path):
    out = tmp_path / "out"
    action_id = letter(c12)
    assert actions.run_due(c12, "2026-02-19", out).carried_out == []  # not due yet
    first = actions.run_due(c12, "2026-02-20", out)
    second = actions.run_due(c12, "2026-02-21", out)
    assert first.carried_out == [action_id] and second.carried_out == []
    assert len(files(out)) == 1


def test_two_connections_racing_carry_out_once(tmp_path, data_file):
    """Two connections to the same file, each in its own thread, as two sessions
    of the app would be: exactly one claim wins."""
    path = tmp_path / "race.duckdb"
    first = store.connect(path)
    load(first, data_file, "echeancier_clients_cp1252.csv")
    action_id = letter(first)
    second = store.connect(path)
    out = tmp_path / "out"
    start = threading.Barrier(2)
    outcomes = []

    def run(connection):
        cursor = connection.cursor()
        start.wait()
        outcomes.append(actions.carry_out(cursor, action_id, out))

    threads = [threading.Thread(target=run, args=(c,)) for c in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(o.carried_out for o in outcomes) == [False, True]
    assert len(files(out)) == 1
    done = [e for e in actions.events(first, action_id) if e["event"] == "done"]
    assert len(done) == 1
    first.close()
    second.close()


def test_a_claim_held_by_another_transaction_stops_a_second_run(c12, tmp_path):
    """The second cursor finds the row changed by an open transaction: DuckDB
    reports the conflict, and the run stops without output."""
    action_id = letter(c12)
    other = c12.cursor()
    other.execute("BEGIN TRANSACTION")
    other.execute(
        "UPDATE actions SET status = 'running' WHERE action_id = ? "
        "AND status = 'planned'",
        [action_id],
    )
    outcome = actions.carry_out(c12.cursor(), action_id, tmp_path / "out")
    other.execute("ROLLBACK")
    assert not outcome.carried_out
    assert files(tmp_path / "out") == []
    assert actions.get(c12, action_id)["status"] == "planned"  # the other gave up


def test_resend_is_explicit_and_recorded(c12, tmp_path):
    out = tmp_path / "out"
    action_id = letter(c12)
    actions.carry_out(c12, action_id, out)
    again = actions.resend(c12, action_id, out, author="marc")
    assert again.carried_out and len(files(out)) == 2
    assert [e["event"] for e in actions.events(c12, action_id)][-1] == "resent"
    with pytest.raises(InvalidValue, match="only a done action"):
        actions.resend(c12, letter(c12), out)


# ---------------------------------------------------------------------------
# Due actions and the items checked again


def test_confirm_mode_waits_for_the_click(c12, tmp_path):
    out = tmp_path / "out"
    action_id = letter(c12, mode="confirm")
    report = actions.run_due(c12, "2026-02-25", out)
    assert report.carried_out == [] and files(out) == []
    assert actions.get(c12, action_id)["status"] == "planned"
    waiting = actions.due(c12, "2026-02-25")
    assert [d.action["action_id"] for d in waiting] == [action_id]
    assert waiting[0].totals_now == {"EUR": Decimal("13734.56")}  # 1234.56 + 12500
    assert actions.carry_out(c12, action_id, out).carried_out
    assert actions.due(c12, "2026-02-25") == []


def test_auto_action_cancelled_when_a_later_import_shows_it_paid(
    c12, data_file, tmp_path
):
    action_id = letter(c12)
    # The next snapshot lists both invoices with nothing left to pay.
    load(c12, data_file, "echeancier_C00012_paid.csv", "2026-02-18")
    report = actions.run_due(c12, "2026-02-20", tmp_path / "out")
    assert report.carried_out == []
    assert report.cancelled == [(action_id, "All items were settled by 2026-02-20.")]
    assert files(tmp_path / "out") == []
    shown = actions.show(c12, action_id)
    assert shown["status"] == "cancelled"
    assert shown["cancel_reason"] == "All items were settled by 2026-02-20."
    assert all(i["dropped_at"] is not None for i in shown["items"])


def test_some_settled_carried_out_on_the_rest(c12, data_file, tmp_path):
    action_id = letter(c12)
    # The next snapshot no longer lists FA-2026-0041: it is closed as paid.
    load(c12, data_file, "echeancier_C00012_partial.csv", "2026-02-18")
    # Before the run, due() shows the new amounts.
    waiting = actions.due(c12, "2026-02-20")[0]
    assert waiting.settled == ("FA-2026-0041",)
    assert waiting.totals_then == {"EUR": Decimal("13734.56")}  # 1234.56 + 12500
    assert waiting.totals_now == {"EUR": Decimal("12500.00")}

    report = actions.run_due(c12, "2026-02-20", tmp_path / "out")
    assert report.carried_out == [action_id]
    shown = actions.show(c12, action_id)
    items = {i["doc_number"]: i for i in shown["items"]}
    assert items["FA-2026-0041"]["dropped_reason"] == "settled by 2026-02-20"
    assert items["FA-2026-0077"]["dropped_at"] is None
    # Re-rendered on what is still open: 12 500,00 €, not 13 734,56 €.
    text = shown["rendered_text"].replace("\u202f", " ").replace("\xa0", " ")
    assert "12 500,00 €." in text and "13 734,56" not in text
    # The totals at validation stay; what the run claimed is stored beside them.
    assert shown["totals"]["EUR"]["amount_selected"] == Decimal("13734.56")
    assert shown["totals_claimed"]["EUR"]["amount_selected"] == Decimal("12500.00")
    assert [e["event"] for e in shown["events"]] == ["created", "items_dropped", "done"]


def test_action_items_keep_their_amounts_after_a_new_import(c12, data_file):
    action_id = letter(c12)
    load(c12, data_file, "echeancier_C00012_paid.csv", "2026-02-18")
    shown = actions.show(c12, action_id, dt.date(2026, 2, 20))
    assert [
        (i["doc_number"], i["open_amount_at_action"], i["open_amount_now"])
        for i in shown["items"]
    ] == [
        ("FA-2026-0041", Decimal("1234.56"), Decimal("0.00")),
        ("FA-2026-0077", Decimal("12500.00"), Decimal("0.00")),
    ]
    stored = c12.execute(
        "SELECT sum(open_amount) FROM action_items WHERE action_id = ?", [action_id]
    ).fetchone()[0]
    assert stored == Decimal("13734.56")  # 1234.56 + 12500.00, untouched


def test_dry_run_writes_the_eml_and_changes_nothing(c12, tmp_path):
    action_id = letter(c12, type="email")
    report = actions.run_due(c12, "2026-02-20", tmp_path / "dry", dry_run=True)
    assert report.carried_out == [action_id] and report.dry_run, report.failed
    assert [p.suffix for p in report.outputs] == [".eml"]
    assert actions.get(c12, action_id)["status"] == "planned"
    assert [e["event"] for e in actions.events(c12, action_id)] == ["created"]
    message = BytesParser(policy=policy.default).parsebytes(
        report.outputs[0].read_bytes()
    )
    assert message["To"] == '"Caron, Julien" <j.caron@boulangerie.example>'


def test_email_carried_out_as_eml_with_statement_attached(c12, tmp_path):
    action_id = letter(c12, type="email", attach_statement=True)
    outcome = actions.carry_out(c12, action_id, tmp_path / "out")
    message = BytesParser(policy=policy.default).parsebytes(outcome.output.read_bytes())
    assert message["Message-ID"] == outcome.message_id
    assert message["Subject"] == "Relance Boulangerie Lefèvre & Fils"
    attachments = list(message.iter_attachments())
    assert [a.get_filename() for a in attachments] == [
        "statement-C00012-2026-02-15.pdf"
    ]
    assert attachments[0].get_content().startswith(b"%PDF")
    text = message.get_body(("plain",)).get_content()
    assert "13 734,56" in text.replace("\u202f", " ").replace("\xa0", " ")


def test_sms_and_call_are_recorded_with_their_text(c12, tmp_path):
    action_id = letter(c12, type="sms")
    outcome = actions.carry_out(c12, action_id, tmp_path / "out")
    assert outcome.carried_out and outcome.output is None
    done = actions.get(c12, action_id)
    assert done["status"] == "done" and "13 734,56" in done["rendered_text"].replace(
        "\u202f", " "
    )


def test_completing_an_action_on_disputed_items_offers_dispute_resolved(c12, tmp_path):
    disputed = ids(c12, "C00012", "FA-2026-0041")
    qualification.qualify(c12, disputed, "disputed", "2026-02-10", "Wrong price")
    action_id = letter(c12, include_disputed=True)
    outcome = actions.carry_out(c12, action_id, tmp_path / "out")
    assert outcome.disputed_item_ids == tuple(disputed)
    assert actions.mark_dispute_resolved(c12, action_id, author="marc") == 1
    status, author = c12.execute(
        "SELECT status, status_author FROM items WHERE item_id = ?", disputed
    ).fetchone()
    assert (status, author) == ("dispute_resolved", "marc")
    assert qualification.history(c12, disputed[0])[0]["action_id"] == action_id


def test_listing_filters(c12):
    first = letter(c12)
    second = letter(c12, type="email", planned_for="2026-02-10")
    actions.cancel(c12, first, "duplicate")
    assert [r["action_id"] for r in actions.listing(c12)] == [second, first]
    assert [r["action_id"] for r in actions.listing(c12, status="cancelled")] == [first]
    assert [r["action_id"] for r in actions.listing(c12, type="email")] == [second]
    due = actions.listing(c12, due_by=dt.date(2026, 2, 15))
    assert [r["action_id"] for r in due] == [second]
    assert due[0]["is_due"]
    assert actions.listing(c12, customer="C00027") == []
    with pytest.raises(InvalidValue, match="status"):
        actions.listing(c12, status="lost")


# ---------------------------------------------------------------------------
# Sending by SMTP (a real server on 127.0.0.1, tests/conftest.py)

SPACES = str.maketrans({"\u202f": " ", "\xa0": " "})


def serve(server, monkeypatch, login: bool = True, **changes) -> None:
    """Point settings.smtp at the test server through DUNNING_SMTP_*."""
    values = server.env(login=login)
    values.update(changes)
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def plain(message) -> str:
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def test_email_sent_once_to_the_dunning_contact_with_the_preview_amounts(
    c12, tmp_path, smtp_server, monkeypatch
):
    from dunning import letters, rendering

    # The billing inbox is a contact too; the dunning contact comes first.
    c12.execute(
        "INSERT INTO contacts (customer_number, name, role, email) VALUES "
        "('C00012', 'Factures', 'billing', 'factures@boulangerie.example')"
    )
    serve(smtp_server, monkeypatch)
    out = tmp_path / "out"
    action_id = letter(c12, type="email", attach_statement=True)
    preview = rendering.preview(
        c12,
        "C00012",
        ids(c12, "C00012", "FA-2026-0041", "FA-2026-0077"),
        dt.date(2026, 2, 15),
        SUBJECT,
        BODY,
        action_date=dt.date(2026, 2, 20),
        contact={"name": "Caron, Julien", "email": "j.caron@boulangerie.example"},
    )

    first = actions.run_due(c12, "2026-02-20", out)
    second = actions.run_due(c12, "2026-02-21", out)
    assert (first.carried_out, first.sent) == ([action_id], [action_id])
    assert (second.carried_out, second.sent) == ([], [])
    [received] = smtp_server.received

    # The envelope is the dunning contact alone, as the To header says.
    assert received.rcpt_tos == ["j.caron@boulangerie.example"]
    assert received.mail_from == "relances@example.com"
    message = received.message
    assert message["To"] == '"Caron, Julien" <j.caron@boulangerie.example>'
    assert message["From"] == "Acme SAS <relances@example.com>"
    assert message["Cc"] is None and message["Bcc"] is None
    assert message["Subject"] == "Relance Boulangerie Lefèvre & Fils"

    # Both bodies are the preview's, with its total 1 234.56 + 12 500.00.
    assert plain(message) == preview.text.replace("\r\n", "\n").rstrip("\n") + "\n"
    html = message.get_body(("html",)).get_content().replace("\r\n", "\n")
    assert preview.html in html
    assert "13 734,56 €" in plain(message).translate(SPACES)
    assert "13 734,56 €" in html.translate(SPACES)
    [attachment] = message.iter_attachments()
    assert attachment.get_filename() == "statement-C00012-2026-02-15.pdf"
    pages = " ".join(letters.page_texts(attachment.get_content())).translate(SPACES)
    assert "FA-2026-0041" in pages and "13 734,56 €" in pages

    # The action keeps the message id, the .eml record and how it went.
    shown = actions.show(c12, action_id)
    assert shown["status"] == "done"
    assert shown["message_id"] == message["Message-ID"]
    kept = BytesParser(policy=policy.default).parsebytes(
        Path(shown["export_file"]).read_bytes()
    )
    assert kept["Message-ID"] == message["Message-ID"]
    assert files(out) == [Path(shown["export_file"]).name]
    assert shown["delivery"].startswith("sent by SMTP to 1 recipient(s), kept as ")


def test_double_carry_out_sends_one_message(c12, tmp_path, smtp_server, monkeypatch):
    serve(smtp_server, monkeypatch)
    action_id = letter(c12, type="email")
    first = actions.carry_out(c12, action_id, tmp_path / "out")
    second = actions.carry_out(c12, action_id, tmp_path / "out")
    assert first.carried_out and first.sent
    assert not second.carried_out and "not carried out again" in second.reason
    assert len(smtp_server.received) == 1


def test_without_smtp_the_eml_is_written_and_said_so(c12, tmp_path):
    action_id = letter(c12, type="email")
    outcome = actions.carry_out(c12, action_id, tmp_path / "out")
    assert outcome.carried_out and not outcome.sent
    assert actions.show(c12, action_id)["delivery"] == f"written {outcome.output.name}"


def test_dry_run_never_sends(c12, tmp_path, smtp_server, monkeypatch):
    serve(smtp_server, monkeypatch)
    action_id = letter(c12, type="email")
    report = actions.run_due(c12, "2026-02-20", tmp_path / "dry", dry_run=True)
    assert report.carried_out == [action_id] and report.sent == []
    assert [p.suffix for p in report.outputs] == [".eml"]
    assert smtp_server.received == []
    assert actions.get(c12, action_id)["status"] == "planned"


def test_refused_login_is_stored_as_failure_and_retry_sends_once(
    c12, tmp_path, smtp_server, monkeypatch
):
    out = tmp_path / "out"
    serve(smtp_server, monkeypatch, DUNNING_SMTP_PASSWORD="not-the-password")
    action_id = letter(c12, type="email")
    outcome = actions.carry_out(c12, action_id, out)
    assert outcome.status == "failed" and not outcome.carried_out
    failed = actions.get(c12, action_id)
    assert failed["status"] == "failed"
    assert "login of user 'relance' was refused" in failed["error"]
    assert f"127.0.0.1:{smtp_server.port}" in failed["error"]
    assert "not-the-password" not in failed["error"]
    assert smtp_server.received == [] and files(out) == []  # no record of a send

    actions.retry(c12, action_id)
    serve(smtp_server, monkeypatch)  # the right password
    again = actions.carry_out(c12, action_id, out)
    assert again.carried_out and again.sent
    assert not actions.carry_out(c12, action_id, out).carried_out
    assert len(smtp_server.received) == 1
    assert [e["event"] for e in actions.events(c12, action_id)] == [
        "created",
        "failed",
        "retried",
        "done",
    ]
    assert actions.get(c12, action_id)["attempts"] == 2


def test_starttls_refused_by_the_server_fails_the_action_clearly(
    c12, tmp_path, smtp_server, monkeypatch
):
    serve(smtp_server, monkeypatch, DUNNING_SMTP_SECURITY="starttls")
    action_id = letter(c12, type="email")
    report = actions.run_due(c12, "2026-02-20", tmp_path / "out")
    [(failed_id, error)] = report.failed
    assert failed_id == action_id and "does not offer STARTTLS" in error
    assert smtp_server.received == []


def test_customer_without_email_never_gets_a_message(
    c12, tmp_path, smtp_server, monkeypatch
):
    from dunning import sending

    serve(smtp_server, monkeypatch)
    chosen = sending.recipients(c12, "C00031")
    assert not chosen.sendable and "send a letter instead" in chosen.disabled_reason
    items = ids(c12, "C00031", "FA-2026-0102")
    with pytest.raises(InvalidValue, match="no contact with an email"):
        actions.create(c12, "C00031", items, "email", "Relance", BODY, mode="auto")
    letter_id = actions.create(
        c12, "C00031", items, "letter", "Relance", BODY, mode="auto"
    )
    report = actions.run_due(c12, "2026-02-15", tmp_path / "out")
    assert report.carried_out == [letter_id] and report.sent == []
    assert smtp_server.received == []


CASE_10 = Path(__file__).resolve().parents[2] / "shared" / "cases"
CASE_10 = CASE_10 / "10_email_header_crlf_injection"
# One open invoice for each customer of case 10 (1 500.00 EUR, 31 days late).
CASE_10_LEDGER = "Code client;Raison sociale;N° pièce;Date pièce;Date échéance;"
CASE_10_LEDGER += "Montant TTC;Devise;Reste dû\n" + "".join(
    f"C0007{n};Client {n};FA-7{n};01/12/2025;15/01/2026;1 500,00;EUR;1 500,00\n"
    for n in range(1, 8)
)
# The validated recipients of each sendable customer, every other one refused.
CASE_10_SENDABLE = {
    "C00071": ["compta@menuiserie-perrin.example"],
    "C00076": ["compta@optique-roy.example", "direction@optique-roy.example"],
    "C00077": ["j.caron@imprimerie-caron.example"],
}


def case_10_contacts(tmp_path: Path) -> Path:
    source = CASE_10 / "contacts_clients.csv"
    if not source.exists():
        source = Path(__file__).parent / "data" / "contacts_clients.csv"
    target = tmp_path / "contacts_clients.csv"
    target.write_bytes(source.read_bytes())
    return target


def send_case_10(con, out: Path) -> list[int]:
    """An email action for every customer that can get one; the others refused."""
    subject = "Relance impayés – #customer_name – #items_amount_selected"
    created = []
    for number in (f"C0007{n}" for n in range(1, 8)):
        items = ids(con, number, f"FA-7{number[-1]}")
        if number not in CASE_10_SENDABLE:
            with pytest.raises(InvalidValue):
                actions.create(con, number, items, "email", subject, BODY, mode="auto")
            continue
        created.append(
            actions.create(con, number, items, "email", subject, BODY, mode="auto")
        )
    report = actions.run_due(con, "2026-02-15", out)
    assert report.sent == created and report.failed == []
    return created


def assert_no_injection(received, expected_rcpt: list[str]) -> None:
    assert received.rcpt_tos == expected_rcpt
    message = received.message
    assert [a.addr_spec for a in message["To"].addresses] == expected_rcpt
    assert len(message.get_all("To")) == 1 and len(message.get_all("From")) == 1
    assert len(message.get_all("Subject")) == 1
    assert message["Bcc"] is None and message["Cc"] is None
    assert "attaquant" not in message.as_string()
    for name, value in message.items():
        assert "\r" not in str(value) and "\n" not in str(value), name


def test_hostile_contacts_of_case_10_never_add_a_bcc_or_a_recipient(
    c12, tmp_path, smtp_server, monkeypatch
):
    """The contacts file imported as it is, then its raw fields written straight
    into the contacts (as a hand edit could): the same recipients either way."""
    serve(smtp_server, monkeypatch)
    ledger_path = tmp_path / "case10_items.csv"
    ledger_path.write_text(CASE_10_LEDGER, encoding="utf-8")
    contacts_path = case_10_contacts(tmp_path)
    contacts = importing.import_file(
        c12, contacts_path, importing.Options(kind="contacts")
    )
    assert contacts.committed
    items = importing.import_file(c12, ledger_path, importing.Options())
    assert items.committed and items.rows_loaded == 7, items.errors

    created = send_case_10(c12, tmp_path / "imported")
    assert len(smtp_server.received) == len(created) == 3
    by_customer = dict(zip(sorted(CASE_10_SENDABLE), smtp_server.received, strict=True))
    for number, received in by_customer.items():
        assert_no_injection(received, CASE_10_SENDABLE[number])
    assert by_customer["C00077"].message["To"] == (
        '"Caron, Julien" <j.caron@imprimerie-caron.example>'
    )

    # The raw fields, bypassing the importer's checks.
    c12.execute("DELETE FROM contacts WHERE customer_number LIKE 'C0007%'")
    with contacts_path.open(encoding="utf-8", newline="") as handle:
        for row in list(csv.reader(handle, delimiter=";"))[1:]:
            c12.execute(
                "INSERT INTO contacts (customer_number, name, role, email) "
                "VALUES (?, ?, 'dunning', ?)",
                [row[0], row[2], row[3]],
            )
    smtp_server.received.clear()
    send_case_10(c12, tmp_path / "raw")
    received = dict(zip(sorted(CASE_10_SENDABLE), smtp_server.received, strict=True))
    for number, one in received.items():
        assert_no_injection(one, CASE_10_SENDABLE[number])


# ---------------------------------------------------------------------------
# Several actions at once: merged letters and a ZIP with a summary

HOSTILE_NAME = "=cmd|' /C calc'!A0"
HOSTILE_LEDGER = (
    "Code client;Raison sociale;N° pièce;Date pièce;Date échéance;Montant TTC;"
    f"Devise;Reste dû\nC00040;{HOSTILE_NAME};FA-40;01/12/2025;15/01/2026;99,90;EUR;"
    "99,90\n"
)


@pytest.fixture
def batch(c12, tmp_path):
    """Four actions of C00012 (a letter carried out, an email written as .eml, an
    SMS, a planned letter) and a letter of C00040, whose name is a formula."""
    path = tmp_path / "hostile.csv"
    path.write_text(HOSTILE_LEDGER, encoding="utf-8")
    assert importing.import_file(c12, path).committed
    out = tmp_path / "out"
    done = letter(c12)
    email = letter(c12, type="email")
    sms = letter(c12, type="sms")
    for action_id in (done, email, sms):
        assert actions.carry_out(c12, action_id, out).carried_out
    planned = letter(c12, type="formal_notice")
    hostile = letter(c12, "C00040", ("FA-40",))
    return c12, [done, email, sms, planned, hostile]


def test_letters_of_several_actions_merged_into_one_pdf(batch):
    from dunning import letters

    con, (done, email, sms, planned, hostile) = batch
    merged = letters.page_texts(
        actions.letters_pdf(con, [done, email, planned, hostile])
    )
    each = [
        letters.page_texts(actions.letters_pdf(con, [one]))
        for one in (done, planned, hostile)
    ]
    assert len(merged) == sum(len(pages) for pages in each)  # the email is left out
    text = " ".join(merged).translate(SPACES)
    # 1 234.56 + 12 500.00 in each of C00012's two letters; C00040 owes 99.90
    assert text.count("13 734,56 €") >= 2 and "99,90 €" in text
    assert "MISE EN DEMEURE" in text  # the planned formal notice, made again
    with pytest.raises(InvalidValue, match="None of the chosen actions is a letter"):
        actions.letters_pdf(con, [email, sms])


def test_bundle_holds_each_file_and_a_neutralised_summary(batch, tmp_path):
    import io
    import zipfile

    con, (done, email, sms, planned, hostile) = batch
    # A carried-out file that has gone is made again from what the action stored.
    Path(actions.get(con, done)["export_file"]).unlink()
    archive = zipfile.ZipFile(
        io.BytesIO(actions.bundle(con, [done, email, sms, planned, hostile]))
    )
    assert archive.namelist() == [
        f"action-{done}-C00012-letter.pdf",
        f"action-{email}-C00012-email.eml",
        f"action-{sms}-C00012-sms.txt",
        f"action-{planned}-C00012-formal_notice.pdf",
        f"action-{hostile}-C00040-letter.pdf",
        "summary.csv",
    ]
    assert archive.read(f"action-{done}-C00012-letter.pdf").startswith(b"%PDF")
    eml = BytesParser(policy=policy.default).parsebytes(
        archive.read(f"action-{email}-C00012-email.eml")
    )
    assert eml["Message-ID"] == actions.get(con, email)["message_id"]
    assert "13 734,56" in archive.read(
        f"action-{sms}-C00012-sms.txt"
    ).decode().translate(SPACES)

    summary = archive.read("summary.csv").decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(summary)))
    assert list(rows[0]) == list(actions.SUMMARY_COLUMNS)
    first = rows[0]
    assert (first["action_id"], first["customer_number"], first["type"]) == (
        str(done),
        "C00012",
        "letter",
    )
    assert (first["status"], first["planned_for"], first["currency"]) == (
        "done",
        "2026-02-20",
        "EUR",
    )
    assert first["executed_at"].startswith("2026-02-15 ")
    # 1 234.56 + 12 500.00; penalties 6.16 + 40 + 4.16 + 40 = 90.32
    assert (first["amount_selected"], first["penalties"]) == ("13734.56", "90.32")
    assert first["amount_including_penalties"] == "13824.88"
    assert first["file_name"] == f"action-{done}-C00012-letter.pdf"
    assert rows[3]["status"] == "planned" and rows[3]["executed_at"] == ""
    assert rows[4]["customer_name"] == "'" + HOSTILE_NAME


# ---------------------------------------------------------------------------
# A partial settlement between validation and carrying out: three views

PARTIAL_HEAD = (
    "Code client;Raison sociale;Type pièce;N° pièce;Date pièce;Date échéance;"
    "Montant TTC;Devise;Reste dû\n"
)
FA_001 = "C00100;Atelier Dumas;Facture;FA-001;02/01/2026;16/01/2026;500,00;EUR;"
FA_003 = "C00100;Atelier Dumas;Facture;FA-003;12/01/2026;26/01/2026;300,25;EUR;"
FA_004 = "C00100;Atelier Dumas;Facture;FA-004;22/01/2026;05/02/2026;99,99;EUR;99,99\n"
PARTIAL_BODY = (
    "Merci de régler #items_amount_selected "
    "(pénalités #items_amount_selected_late_penalties)."
)


def dumas(con, tmp_path, later_fa_001: str | None):
    """C00100 owes FA-001, FA-003 and FA-004 at 2026-02-15; an automatic letter
    on the three is planned for 2026-02-25; an import of 2026-02-20 lists FA-003
    part-paid (300.25 -> 100.25) and FA-001 as `later_fa_001` (None: not listed)."""
    first = tmp_path / "dumas-1.csv"
    first.write_text(
        PARTIAL_HEAD + FA_001 + "500,00\n" + FA_003 + "300,25\n" + FA_004,
        encoding="utf-8",
    )
    assert importing.import_file(con, first, importing.Options()).committed
    docs = ("FA-001", "FA-003", "FA-004")
    action_id = actions.create(
        con,
        "C00100",
        ids(con, "C00100", *docs),
        "letter",
        "Relance",
        PARTIAL_BODY,
        planned_for="2026-02-25",
        mode="auto",
    )
    listed = FA_001 + later_fa_001 + "\n" if later_fa_001 else ""
    later = tmp_path / "dumas-2.csv"
    later.write_text(PARTIAL_HEAD + listed + FA_003 + "100,25\n" + FA_004, "utf-8")
    options = importing.Options(as_of=dt.date(2026, 2, 20))
    assert importing.import_file(con, later, options).committed
    return action_id


# At validation, 2026-02-15, fr_legal 2.15 % + 10 = 12.15 %:
#   FA-001 500.00, 30 days: 500 x 0.1215 x 30 / 365 = 4.9932 -> 4.99 + 40 = 44.99
#   FA-003 300.25, 20 days: 300.25 x 0.1215 x 20 / 365 = 1.9989 -> 2.00 + 40 = 42.00
#   FA-004 99.99, 10 days: 99.99 x 0.1215 x 10 / 365 = 0.3328 -> 0.33 + 40 = 40.33
#   amount 500 + 300.25 + 99.99 = 900.24; interest 4.99 + 2.00 + 0.33 = 7.32;
#   indemnity 3 x 40 = 120.00; penalties 127.32; including 1 027.56
VALIDATED = {
    "amount_selected": Decimal("900.24"),
    "interest": Decimal("7.32"),
    "indemnity": Decimal("120.00"),
    "penalties": Decimal("127.32"),
    "amount_including_penalties": Decimal("1027.56"),
}
# Carried out on 2026-02-25, FA-001 settled and dropped:
#   FA-003 100.25, 30 days: 100.25 x 0.1215 x 30 / 365 = 1.0011 -> 1.00 + 40 = 41.00
#   FA-004 99.99, 20 days: 99.99 x 0.1215 x 20 / 365 = 0.6657 -> 0.67 + 40 = 40.67
#   amount 100.25 + 99.99 = 200.24; interest 1.00 + 0.67 = 1.67; indemnity 80.00;
#   penalties 81.67; including 281.91
CLAIMED = {
    "amount_selected": Decimal("200.24"),
    "interest": Decimal("1.67"),
    "indemnity": Decimal("80.00"),
    "penalties": Decimal("81.67"),
    "amount_including_penalties": Decimal("281.91"),
}


@pytest.mark.parametrize(
    ("later_fa_001", "state", "label"),
    [
        ("0,00", "paid", "Paid"),  # listed with nothing left to pay
        (None, "closed", "Closed (no longer in the ledger)"),  # no longer listed
    ],
)
def test_partial_settlement_keeps_the_snapshot_and_stores_what_was_claimed(
    con, tmp_path, later_fa_001, state, label
):
    action_id = dumas(con, tmp_path, later_fa_001)
    assert actions.listing(con)[0]["totals"]["EUR"] == VALIDATED

    report = actions.run_due(con, "2026-02-25", tmp_path / "out")
    assert report.carried_out == [action_id]
    shown = actions.show(con, action_id, dt.date(2026, 2, 25))
    text = shown["rendered_text"].translate(SPACES)
    assert text == "Merci de régler 200,24 € (pénalités 81,67 €)."

    # The totals at validation never change; what the message claimed is beside.
    assert shown["totals"] == {"EUR": VALIDATED}
    assert shown["totals_claimed"] == {"EUR": CLAIMED}
    assert actions.listing(con)[0]["totals"]["EUR"] == VALIDATED
    assert shown["totals_now"] == {"EUR": Decimal("200.24")}  # 100.25 + 99.99

    views = {
        i["doc_number"]: (
            (i["open_amount_at_action"], i["days_late_at_action"]),
            (i["interest_at_action"], i["penalty_at_action"]),
            (i["open_amount_claimed"], i["days_late_claimed"]),
            (i["interest_claimed"], i["penalty_claimed"]),
            (i["open_amount_now"], actions.status_now(i)),
        )
        for i in shown["items"]
    }
    D = Decimal
    assert views == {
        "FA-001": (
            (D("500.00"), 30),
            (D("4.99"), D("44.99")),
            (None, None),  # dropped: nothing claimed
            (None, None),
            (D("0.00"), state),
        ),
        "FA-003": (
            (D("300.25"), 20),
            (D("2.00"), D("42.00")),
            (D("100.25"), 30),
            (D("1.00"), D("41.00")),
            (D("100.25"), "open"),
        ),
        "FA-004": (
            (D("99.99"), 10),
            (D("0.33"), D("40.33")),
            (D("99.99"), 20),
            (D("0.67"), D("40.67")),
            (D("99.99"), "open"),
        ),
    }
    labels = [actions.status_now_label(i) for i in shown["items"]]
    assert labels == [label, "Open", "Open"]


def test_a_done_letter_made_again_shows_what_it_claimed(con, tmp_path):
    from dunning import letters

    action_id = dumas(con, tmp_path, None)
    actions.run_due(con, "2026-02-25", tmp_path / "out")
    Path(actions.get(con, action_id)["export_file"]).unlink()
    pages = " ".join(letters.page_texts(actions.letters_pdf(con, [action_id])))
    pages = pages.translate(SPACES)
    # The statement is the claimed one: 100.25 + 99.99 = 200.24, no FA-001.
    assert "200,24 €" in pages and "FA-001" not in pages and "900,24" not in pages


# ---------------------------------------------------------------------------
# What blocks validation, what warns


@pytest.mark.parametrize(
    ("kind", "subject", "body", "blocked"),
    [
        ("letter", "Relance", "", "The body is empty"),
        ("letter", "Relance", "\n\n   \n\t\n", "The body is empty"),  # blank lines
        ("sms", "", " \n ", "The body is empty"),
        ("letter", "", BODY, "The subject is empty: a letter needs one"),
        ("email", "   ", BODY, "The subject is empty: an email needs one"),
        ("formal_notice", "", BODY, "The subject is empty: a formal notice"),
        ("letter_ar", "", BODY, "The subject is empty: a letter with ackno"),
        ("sms", "", BODY, None),
        ("call", "", BODY, None),
    ],
)
def test_empty_body_or_subject_blocks_validation(c12, kind, subject, body, blocked):
    items = ids(c12, "C00012", "FA-2026-0041")
    if blocked is None:
        assert actions.create(c12, "C00012", items, kind, subject, body) == 1
        return
    with pytest.raises(InvalidValue, match=f"cannot be validated yet: {blocked}"):
        actions.create(c12, "C00012", items, kind, subject, body)
    assert c12.execute("SELECT count(*) FROM actions").fetchone()[0] == 0


@pytest.mark.parametrize(
    ("docs", "blocked"),
    [
        # AV-2026-0003 alone: -250.00, nothing owed
        (("AV-2026-0003",), "Nothing is owed on the selected items: they come to"),
        # 1 234.56 - 250.00 = 984.56 owed: validated
        (("FA-2026-0041", "AV-2026-0003"), None),
    ],
)
def test_a_credit_note_alone_is_not_claimed(c12, docs, blocked):
    items = ids(c12, "C00012", *docs)
    if blocked is None:
        action_id = actions.create(c12, "C00012", items, "letter", SUBJECT, BODY)
        totals = actions.show(c12, action_id)["totals"]
        assert totals["EUR"]["amount_selected"] == Decimal("984.56")
        return
    with pytest.raises(InvalidValue, match=blocked) as refused:
        actions.create(c12, "C00012", items, "letter", SUBJECT, BODY)
    assert "-250,00 €" in str(refused.value).translate(SPACES)


def test_recent_claims_name_the_actions_still_to_come_and_recently_done(c12, tmp_path):
    both = ids(c12, "C00012", "FA-2026-0041", "FA-2026-0077")
    done = letter(c12, type="email")  # validated today, 2026-02-15
    actions.carry_out(c12, done, tmp_path / "out", now=dt.datetime(2026, 2, 15, 9))
    planned = letter(c12, docs=("FA-2026-0077",))  # planned for 2026-02-20
    cancelled = letter(c12)
    actions.cancel(c12, cancelled, "typo")

    found = actions.recent_claims(c12, both, dt.date(2026, 2, 8))
    assert [(c["action_id"], c["doc_number"]) for c in found] == [
        (planned, "FA-2026-0077"),
        (done, "FA-2026-0041"),
        (done, "FA-2026-0077"),
    ]
    assert actions.claim_warnings(found, "fr") == [
        f"FA-2026-0077 was claimed by action #{planned} (letter, planned for "
        "20/02/2026): make sure this is not the same reminder twice.",
        f"FA-2026-0041, FA-2026-0077 were claimed by action #{done} (email, done "
        "15/02/2026): make sure this is not the same reminder twice.",
    ]
    # Done before the window: only the planned one is still named.
    later = actions.recent_claims(c12, both, dt.date(2026, 2, 16))
    assert [c["action_id"] for c in later] == [planned]


def test_validation_warns_about_claims_channel_and_a_past_date(c12):
    first = letter(c12)
    again = actions.validate(
        c12,
        "C00012",
        ids(c12, "C00012", "FA-2026-0041"),
        "email",
        "Mise en demeure",
        BODY,
        planned_for="2020-01-01",
        template="mise-en-demeure-fr",
    )
    # The preview's own warnings first (C00012 holds a credit note), then these.
    assert again.warnings[-3:] == (
        "The template mise-en-demeure-fr is written for the letter channel, and "
        "this action is an email: check that its text suits an email, or change "
        "the action type.",
        "Planned for 01/01/2020, in the past: it is due at once.",
        f"FA-2026-0041 was claimed by action #{first} (letter, planned for "
        "20/02/2026): make sure this is not the same reminder twice.",
    )
    # The same template on a letter, today, on an item nobody claims: no warning.
    quiet = actions.validate(
        c12,
        "C00031",
        ids(c12, "C00031", "FA-2026-0102"),
        "letter",
        "Mise en demeure",
        BODY,
        template="mise-en-demeure-fr",
    )
    assert not [w for w in quiet.warnings if "template" in w or "claimed" in w]
    assert not [w for w in quiet.warnings if "in the past" in w]

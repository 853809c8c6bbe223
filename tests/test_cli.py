"""The command line as a user runs it: `python -m dunning` in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def dunning(*args: str, db: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dunning", *args, "--db", str(db)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


def test_import_then_customers_and_search_as_json(tmp_path, data_file):
    db = tmp_path / "cli.duckdb"
    done = dunning(
        "import", str(data_file("echeancier_clients_cp1252.csv")), "--json", db=db
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["rows_read"], report["rows_loaded"], report["rows_rejected"]) == (
        6,
        5,
        0,  # five items and the "Total général" footer
    )
    assert report["errors"] == []

    done = dunning("customers", "--as-of", "2026-02-15", "--json", db=db)
    customers = {c["customer_number"]: c for c in json.loads(done.stdout)["customers"]}
    assert customers["C00012"] == {
        "customer_number": "C00012",
        "name": "Boulangerie Lefèvre & Fils",
        "balance": {"EUR": "13484.56"},
        "overdue": {"EUR": "13734.56"},
        "oldest_due_date": "2026-01-31",
        "items_open": 3,
        "items_overdue": 2,
    }

    done = dunning(
        "search", "--as-of", "2026-02-15", "--min-days-late", "30", "--json", db=db
    )
    found = json.loads(done.stdout)
    assert found["count"] == 1
    assert found["totals"] == {"EUR": "480.40"}
    assert found["items"] == [
        {
            "customer_number": "C00027",
            "doc_number": "FA-2025-1198",
            "doc_type": "invoice",
            "issue_date": "2025-11-28",
            "due_date": "2025-12-28",
            "days_late": 49,  # 2026-02-15 - 2025-12-28
            "amount": "980.40",
            "open_amount": "480.40",
            "currency": "EUR",
            "status": "open",
        }
    ]


def test_search_csv_and_limit(tmp_path, data_file):
    db = tmp_path / "cli.duckdb"
    dunning("import", str(data_file("echeancier_clients_cp1252.csv")), db=db)
    done = dunning(
        "search", "--as-of", "2026-02-15", "--format", "csv", "--limit", "2", db=db
    )
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("customer_number,doc_number")
    assert len(lines) == 3


def test_errors_are_one_sentence_with_nonzero_exit(tmp_path):
    db = tmp_path / "cli.duckdb"
    done = dunning("import", str(tmp_path / "missing.csv"), db=db)
    assert done.returncode != 0
    assert done.stderr.startswith("error: ")
    assert "Traceback" not in done.stderr

    done = dunning("search", "--where", "(SELECT 1) = 1", db=db)
    assert done.returncode != 0
    assert "subquery" in done.stderr

    done = dunning("customers", "--as-of", "15/02/2026", db=db)
    assert done.returncode != 0
    assert "YYYY-MM-DD" in done.stderr


def test_ambiguous_dates_need_date_order(tmp_path):
    ledger = tmp_path / "ambiguous.csv"
    ledger.write_text(
        "Code client;N° pièce;Date échéance;Montant\n"
        "C1;F1;03/04/2025;10,00\n"
        "C1;F2;05/06/2025;20,00\n",
        encoding="utf-8",
    )
    db = tmp_path / "cli.duckdb"
    done = dunning("import", str(ledger), db=db)
    assert done.returncode != 0
    assert "--date-order" in done.stderr
    done = dunning("import", str(ledger), "--date-order", "mdy", "--json", db=db)
    assert done.returncode == 0, done.stderr
    done = dunning("search", "--as-of", "2025-12-31", "--json", db=db)
    dues = sorted(item["due_date"] for item in json.loads(done.stdout)["items"])
    assert dues == ["2025-03-04", "2025-05-06"]  # month first: March 4, May 6


def test_snapshot_keeps_documents_named_on_rejected_rows(tmp_path):
    first = tmp_path / "first.csv"
    first.write_text(
        "customer_number,doc_number,due_date,amount,currency\n"
        "C1,D1,2025-02-10,100.00,EUR\n"
        "C1,D2,2025-03-10,50.00,EUR\n"
        "C1,D3,2025-04-10,30.00,EUR\n",
        encoding="utf-8",
    )
    second = tmp_path / "second.csv"
    second.write_text(
        "customer_number,doc_number,due_date,amount,currency\n"
        "C1,D1,2025-02-10,abc,EUR\n"  # rejected, yet D1 is still listed
        "C1,D3,2025-04-10,30.00,EUR\n",
        encoding="utf-8",
    )
    db = tmp_path / "cli.duckdb"
    dunning("import", str(first), "--as-of", "2025-03-01", db=db)
    done = dunning("import", str(second), "--as-of", "2025-05-01", "--json", db=db)
    report = json.loads(done.stdout)
    closed = [
        w for w in report["warnings"] if "no longer in this snapshot" in w["message"]
    ]
    assert [w["value"] for w in closed] == ["D2"]  # only D2 left the snapshot

    done = dunning("search", "--as-of", "2025-06-01", "--json", db=db)
    found = json.loads(done.stdout)
    assert {i["doc_number"] for i in found["items"]} == {"D1", "D3"}
    assert found["totals"] == {"EUR": "130.00"}  # 100.00 + 30.00


def test_read_commands_do_not_create_a_workspace(tmp_path):
    db = tmp_path / "typo" / "w.duckdb"
    done = dunning("customers", db=db)
    assert done.returncode != 0
    assert "no workspace" in done.stderr
    assert not db.exists()


def test_amount_filters_accept_french_decimals(tmp_path, data_file):
    db = tmp_path / "cli.duckdb"
    dunning("import", str(data_file("echeancier_clients_cp1252.csv")), db=db)
    done = dunning(
        "search", "--as-of", "2026-02-15", "--min-amount", "2 000,00", "--json", db=db
    )
    assert json.loads(done.stdout)["totals"] == {"EUR": "14545.10"}  # 12500 + 2045.10
    done = dunning("search", "--min-amount", "abc", db=db)
    assert done.returncode != 0 and "not a number" in done.stderr


def test_first_own_import_clears_the_demo(tmp_path, data_file):
    db = tmp_path / "cli.duckdb"
    done = dunning("demo", "--as-of", "2026-02-15", "--json", db=db)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["customers"] >= 55
    done = dunning(
        "import", str(data_file("echeancier_clients_cp1252.csv")), "--json", db=db
    )
    report = json.loads(done.stdout)
    assert "demo data is cleared" in report["warnings"][0]["message"]
    done = dunning("customers", "--as-of", "2026-02-15", "--json", db=db)
    numbers = {c["customer_number"] for c in json.loads(done.stdout)["customers"]}
    assert numbers == {"C00012", "C00027", "C00031"}  # the file's customers only


def test_penalties_as_json(tmp_path, data_file):
    db = tmp_path / "cli.duckdb"
    dunning("import", str(data_file("postes_C00077.csv")), db=db)
    done = dunning(
        "penalties", "--customer", "C00077", "--as-of", "2025-09-15", "--json", db=db
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    big = next(i for i in data["items"] if i["doc_number"] == "FA-2025-0412")
    # 12000 x 13.15 x 41 / 36500 = 177.2548; 12000 x 12.15 x 77 / 36500 = 307.5781
    assert big == {
        "doc_number": "FA-2025-0412",
        "currency": "EUR",
        "open_amount": "12000.00",
        "days_late": 118,
        "interest": "484.83",
        "indemnity": "40.00",
        "penalty": "524.83",
        "periods": [
            {
                "start": "2025-05-21",
                "end": "2025-06-30",
                "days": 41,
                "base": "12000.00",
                "rate": "13.15",
                "interest": "177.25",
            },
            {
                "start": "2025-07-01",
                "end": "2025-09-15",
                "days": 77,
                "base": "12000.00",
                "rate": "12.15",
                "interest": "307.58",
            },
        ],
    }
    assert data["totals"] == {
        "EUR": {
            "amount_selected": "15260.00",  # 12000 + 860 + 2400
            "interest": "485.63",  # 484.83 + 0.80
            "indemnity": "80.00",  # FA-2025-0655 is due on the as-of date
            "penalties": "565.63",
            "amount_including_penalties": "15825.63",
        }
    }
    assert data["warnings"] == []


def test_penalties_on_chosen_items_and_as_a_table(tmp_path, data_file):
    db = tmp_path / "cli.duckdb"
    dunning("import", str(data_file("poste_ouverts_C00044.csv")), db=db)
    done = dunning(
        "penalties",
        "--customer",
        "C00044",
        "--items",
        "FA-2025-0510,FA-2025-0588",
        "--as-of",
        "2025-06-30",
        "--json",
        db=db,
    )
    data = json.loads(done.stdout)
    # 23.35 + 5.84 = 29.19 interest, 2 x 40 EUR; the credit note AV-2025-0041 is
    # outside the selection, hence the warning.
    assert data["totals"]["EUR"]["amount_selected"] == "3240.00"
    assert data["totals"]["EUR"]["penalties"] == "109.19"
    assert any("AV-2025-0041" in w for w in data["warnings"])

    done = dunning("penalties", "--customer", "C00044", "--as-of", "2025-06-30", db=db)
    assert done.returncode == 0, done.stderr
    assert "rule fr_legal" in done.stdout
    assert "3,529.19" in done.stdout  # 3420.00 + 109.19


def test_penalties_unknown_document_is_one_sentence_and_exit_1(tmp_path, data_file):
    db = tmp_path / "cli.duckdb"
    dunning("import", str(data_file("postes_C00077.csv")), db=db)
    done = dunning(
        "penalties", "--customer", "C00077", "--items", "FA-2025-0412,FA-9", db=db
    )
    assert done.returncode != 0
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and "FA-9" in done.stderr
    done = dunning("penalties", "--customer", "C99999", db=db)
    assert done.returncode != 0 and "C99999" in done.stderr


def test_preview_text_with_subject_first(tmp_path, data_file):
    # Case 09 at 2025-10-31: 1500.00 + 2250.00 = 3750.00; penalties 30.46 + 23.22
    # + 2 x 40.00 = 133.68; total 3883.68.
    db = tmp_path / "cli.duckdb"
    dunning("import", str(data_file("postes_C00088.csv")), db=db)
    body = tmp_path / "body.txt"
    body.write_text(
        "Dû : #items_amount_selected\nTotal : #items_amount_selected_include_late_"
        "penalties\n",
        encoding="utf-8",
    )
    done = dunning(
        "preview", "--customer", "C00088", "--items", "FA-2025-0880,FA-2025-0912",
        "--body-file", str(body), "--subject", "Relance #customer_number",
        "--as-of", "2025-10-31", db=db,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Relance C00088\nDû : 3 750,00 €\nTotal : 3 883,68 €\n"


def test_preview_template_as_json_and_html(tmp_path, data_file):
    db = tmp_path / "cli.duckdb"
    dunning("import", str(data_file("postes_C00088.csv")), db=db)
    args = ["preview", "--customer", "C00088", "--items", "FA-2025-0880"]
    args += ["--template", "relance-2-fr", "--as-of", "2025-10-31"]
    done = dunning(*args, "--json", db=db)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert sorted(data) == ["blocking", "body", "subject", "warnings"]
    # 1500.00 + 30.46 + 40.00
    assert "Total à régler : 1 570,46 €" in data["body"]
    assert data["subject"].startswith("Deuxième relance – factures impayées – Les")
    assert any("company.name, " in w and "are empty" in w for w in data["warnings"])

    out = tmp_path / "preview.html"
    done = dunning(*args, "--format", "html", "--out", str(out), db=db)
    assert done.returncode == 0 and done.stdout == ""
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<p>Bonjour ") and "Les Jardins" not in html.split("\n")[0]
    assert "<table" in html and "Entretien {{ 7*7 }} massifs" in html


def test_preview_of_a_hostile_template_runs_nothing(tmp_path, data_file):
    db = tmp_path / "cli.duckdb"
    pwned = Path("/tmp/relance_pwned")
    pwned.unlink(missing_ok=True)
    dunning("import", str(data_file("postes_C00088.csv")), db=db)
    done = dunning(
        "preview", "--customer", "C00088", "--items", "FA-2025-0880,FA-2025-0912",
        "--body-file", str(data_file("modele_relance.txt")), "--as-of", "2025-10-31",
        db=db,
    )  # fmt: skip
    assert done.returncode == 1  # refused: blocking problems on stderr
    assert "problem: 'lipsum' is not a hashtag" in done.stderr
    assert "Montant restant dû : 3 750,00 €\n" in done.stdout
    assert "{{ ().__class__.__base__.__subclasses__() }}" in done.stdout
    assert "<class" not in done.stdout and not pwned.exists()


def test_preview_unknown_template_or_document(tmp_path, data_file):
    db = tmp_path / "cli.duckdb"
    dunning("import", str(data_file("postes_C00088.csv")), db=db)
    base = ["preview", "--customer", "C00088", "--items"]
    done = dunning(*base, "FA-2025-0880", "--template", "nope", db=db)
    assert done.returncode == 2 and "no template named 'nope'" in done.stderr
    done = dunning(*base, "FA-1", "--template", "relance-1-fr", db=db)
    assert done.returncode != 0 and "FA-1" in done.stderr
    assert done.stdout == ""


# ---------------------------------------------------------------------------
# Actions: create, show, run-due (DESIGN 13)

REMINDER = "Bonjour,\n\nMerci de régler #items_amount_selected.\n\nCordialement\n"
# An item of an action not carried out yet: nothing claimed.
NOT_CLAIMED = {
    "open_amount_claimed": None,
    "days_late_claimed": None,
    "interest_claimed": None,
    "indemnity_claimed": None,
    "penalty_claimed": None,
}


def test_action_runs_once_waits_in_confirm_mode_and_is_cancelled_once_paid(
    tmp_path, data_file
):
    db, out = tmp_path / "cli.duckdb", tmp_path / "out"
    body = tmp_path / "relance.txt"
    body.write_text(REMINDER, encoding="utf-8")
    dunning("import", str(data_file("echeancier_clients_cp1252.csv")), db=db)
    create = ("action", "create", "--customer", "C00012", "--type", "letter")
    create += ("--items", "FA-2026-0041,FA-2026-0077", "--body-file", str(body))
    create += ("--subject", "Relance", "--date", "2026-02-16", "--json")
    done = dunning(*create, "--mode", "auto", db=db)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"action_id": 1, "status": "planned"}
    waiting = json.loads(dunning(*create, "--mode", "confirm", db=db).stdout)

    # At today 2026-02-15, fr_legal at 2.15 % (ECB on 1 Jan 2026) + 10 = 12.15 %:
    # FA-2026-0041 15 days: 1234.56 x 0.1215 x 15 / 365 = 6.1643 -> 6.16 + 40.00
    # FA-2026-0077 1 day: 12500.00 x 0.1215 / 365 = 4.1610 -> 4.16 + 40.00
    done = dunning("action", "show", "1", "--json", db=db)
    assert json.loads(done.stdout) == {
        "action_id": 1,
        "status": "planned",
        "type": "letter",
        "customer_number": "C00012",
        "planned_for": "2026-02-16",
        "executed_at": None,
        "totals": {
            "EUR": {
                "amount_selected": "13734.56",  # 1234.56 + 12500.00
                "interest": "10.32",  # 6.16 + 4.16
                "indemnity": "80.00",  # 2 x 40.00
                "penalties": "90.32",  # 10.32 + 80.00
                "amount_including_penalties": "13824.88",  # 13734.56 + 90.32
            }
        },
        "totals_claimed": None,  # not carried out yet
        "items": [
            {
                "doc_number": "FA-2026-0041",
                "open_amount_at_action": "1234.56",
                "penalty_at_action": "46.16",
                "open_amount_now": "1234.56",
                "days_late_at_action": 15,
                "interest_at_action": "6.16",
                "indemnity_at_action": "40.00",
                **NOT_CLAIMED,
                "status_now": "open",
                "dropped_reason": None,
            },
            {
                "doc_number": "FA-2026-0077",
                "open_amount_at_action": "12500.00",
                "penalty_at_action": "44.16",
                "open_amount_now": "12500.00",
                "days_late_at_action": 1,
                "interest_at_action": "4.16",
                "indemnity_at_action": "40.00",
                **NOT_CLAIMED,
                "status_now": "open",
                "dropped_reason": None,
            },
        ],
    }

    run = ("run-due", "--date", "2026-02-16", "--out", str(out), "--json")
    first, second = dunning(*run, db=db), dunning(*run, db=db)
    assert json.loads(first.stdout) == {
        "carried_out": [1],
        "sent": [],
        "failed": [],
        "cancelled": [],
    }
    assert json.loads(second.stdout)["carried_out"] == []
    assert [p.suffix for p in out.iterdir()] == [".pdf"]  # one PDF, once
    done = dunning("action", "list", "--status", "planned", "--json", db=db)
    planned = [a["action_id"] for a in json.loads(done.stdout)["actions"]]
    assert planned == [waiting["action_id"]]  # the confirm-mode one waits

    # A later snapshot shows both invoices paid: the next automatic one is cancelled.
    third = json.loads(dunning(*create, "--mode", "auto", db=db).stdout)["action_id"]
    paid = data_file("echeancier_C00012_paid.csv")
    dunning("import", str(paid), "--as-of", "2026-02-18", db=db)
    done = dunning(
        "run-due", "--date", "2026-02-20", "--out", str(out), "--json", db=db
    )
    assert json.loads(done.stdout) == {
        "carried_out": [],
        "sent": [],
        "failed": [],
        "cancelled": [
            {"action_id": third, "reason": "All items were settled by 2026-02-20."}
        ],
    }
    done = dunning("action", "show", str(third), "--json", db=db)
    shown = json.loads(done.stdout)
    assert shown["status"] == "cancelled"
    assert [
        (i["open_amount_at_action"], i["open_amount_now"]) for i in shown["items"]
    ] == [
        ("1234.56", "0.00"),
        ("12500.00", "0.00"),
    ]


def test_action_create_refusals_are_one_sentence(tmp_path, data_file):
    db = tmp_path / "cli.duckdb"
    body = tmp_path / "relance.txt"
    body.write_text("Reste : #items_amount_selectd\n", encoding="utf-8")
    dunning("import", str(data_file("echeancier_clients_cp1252.csv")), db=db)
    base = ("action", "create", "--customer", "C00012", "--type", "letter")
    done = dunning(*base, "--items", "FA-2026-0041", "--body-file", str(body), db=db)
    assert done.returncode != 0 and "cannot be validated" in done.stderr
    assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr
    done = dunning(*base, "--items", "NOPE", "--body-file", str(body), db=db)
    assert done.returncode != 0 and "NOPE" in done.stderr
    done = dunning("action", "show", "42", db=db)
    assert done.returncode != 0 and "No action has the number 42" in done.stderr
    done = dunning("action", "list", "--json", db=db)
    assert json.loads(done.stdout) == {"actions": []}  # nothing was stored


def test_preview_writes_the_letter_pdf_and_the_eml(tmp_path, data_file):
    from email import policy
    from email.parser import BytesParser

    from dunning import letters, store

    db = tmp_path / "cli.duckdb"
    dunning("import", str(data_file("echeancier_clients_cp1252.csv")), db=db)
    con = store.connect(db)
    con.execute(
        "INSERT INTO contacts (customer_number, name, role, email) VALUES "
        "('C00012', 'Caron, Julien', 'dunning', 'j.caron@boulangerie.example')"
    )
    store.set_setting(con, "sender.email", "relances@acme.example")
    con.close()
    base = ("preview", "--customer", "C00012", "--items", "FA-2026-0041")
    base += ("--template", "relance-1-fr")
    pdf, eml = tmp_path / "letter.pdf", tmp_path / "mail.eml"
    done = dunning(*base, "--format", "pdf", "--out", str(pdf), db=db)
    assert done.returncode == 0, done.stderr
    text = letters.page_texts(pdf.read_bytes())[0].replace("\u202f", " ")
    assert "Boulangerie Lefèvre & Fils" in text and "1 234,56 €" in text
    done = dunning(*base, "--format", "eml", "--out", str(eml), db=db)
    assert done.returncode == 0, done.stderr
    message = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
    assert message["To"] == '"Caron, Julien" <j.caron@boulangerie.example>'
    done = dunning(*base, "--format", "pdf", db=db)
    assert done.returncode != 0 and "--out FILE" in done.stderr


def test_run_due_sends_through_smtp_when_configured(tmp_path, data_file, smtp_server):
    """Two run-due processes against a real SMTP server: one message, to the
    dunning contact, with 1 234.56 + 12 500.00 = 13 734,56 € in its text."""
    import os

    from dunning import store

    db, out = tmp_path / "cli.duckdb", tmp_path / "out"
    body = tmp_path / "relance.txt"
    body.write_text(REMINDER, encoding="utf-8")
    dunning("import", str(data_file("echeancier_clients_cp1252.csv")), db=db)
    con = store.connect(db)
    con.execute(
        "INSERT INTO contacts (customer_number, name, role, email) VALUES "
        "('C00012', 'Factures', 'billing', 'factures@boulangerie.example'), "
        "('C00012', 'Caron, Julien', 'dunning', 'j.caron@boulangerie.example')"
    )
    con.close()
    create = ("action", "create", "--customer", "C00012", "--type", "email")
    create += ("--items", "FA-2026-0041,FA-2026-0077", "--body-file", str(body))
    create += ("--subject", "Relance", "--date", "2026-02-16", "--mode", "auto")
    assert dunning(*create, db=db).returncode == 0

    env = {**os.environ, **smtp_server.env(login=True)}
    run = [sys.executable, "-m", "dunning", "run-due", "--date", "2026-02-16"]
    run += ["--out", str(out), "--json", "--db", str(db)]
    first, second = (
        subprocess.run(run, capture_output=True, text=True, cwd=ROOT, env=env)
        for _ in range(2)
    )
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["sent"] == [1]
    assert json.loads(second.stdout)["carried_out"] == []
    [received] = smtp_server.received
    assert received.rcpt_tos == ["j.caron@boulangerie.example"]
    text = received.message.get_body(("plain",)).get_content()
    assert "13 734,56 €" in text.replace("\u202f", " ").replace("\xa0", " ")
    assert "s3cret" not in first.stdout + first.stderr
    assert [p.suffix for p in out.iterdir()] == [".eml"]  # the record of the send


def run(*args: str, **popen) -> subprocess.CompletedProcess:
    """`python -m dunning ARGS` exactly as written (no --db added)."""
    return subprocess.run(
        [sys.executable, "-m", "dunning", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        **popen,
    )


def _items_in(db: Path) -> int | None:
    """How many items the workspace holds, None when it was never created."""
    if not db.exists():
        return None
    done = run("--db", str(db), "search", "--as-of", "2026-02-15", "--json")
    return json.loads(done.stdout)["count"]


def test_db_before_or_after_the_command_the_later_wins(tmp_path, data_file):
    ledger = str(data_file("echeancier_clients_cp1252.csv"))  # five open items
    before, after, fallback = (
        tmp_path / "before.duckdb",
        tmp_path / "after.duckdb",
        tmp_path / "workspace.duckdb",  # $DUNNING_DB of the test (conftest)
    )

    done = run("--db", str(before), "import", ledger, "--json")
    assert done.returncode == 0, done.stderr
    assert (_items_in(before), _items_in(fallback)) == (5, None)

    # both given: the one after the command wins
    done = run("--db", str(fallback), "import", ledger, "--db", str(after), "--json")
    assert done.returncode == 0, done.stderr
    assert (_items_in(after), _items_in(fallback)) == (5, None)

    # search: the workspace named before the command is the one read
    done = run("--db", str(before), "search", "--min-days-late", "30", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["count"] == 1  # FA-2025-1198, 49 days late
    done = run("search", "--db", str(before), "--json", "--min-days-late", "30")
    assert json.loads(done.stdout)["count"] == 1
    missing = tmp_path / "missing.duckdb"
    done = run("--db", str(missing), "search", "--db", str(before), "--json")
    assert done.returncode == 0, done.stderr
    done = run("--db", str(before), "search", "--db", str(missing), "--json")
    assert done.returncode != 0
    assert "missing.duckdb" in done.stderr
    assert not missing.exists()


def test_json_before_the_command_is_kept(tmp_path, data_file):
    db = tmp_path / "cli.duckdb"
    ledger = str(data_file("echeancier_clients_cp1252.csv"))
    done = run("--json", "--db", str(db), "import", ledger)
    assert json.loads(done.stdout)["rows_loaded"] == 5


def _cut(args: list[str], read: int) -> tuple[int, str]:
    """Run the command and close its stdout after `read` bytes, as `| head` does."""
    process = subprocess.Popen(
        [sys.executable, "-m", "dunning", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    if read:
        process.stdout.read(read)
    process.stdout.close()
    code = process.wait(timeout=120)
    return code, process.stderr.read().decode()


def test_output_cut_by_head_exits_quietly(tmp_path):
    db = tmp_path / "demo.duckdb"
    assert run("demo", "--db", str(db)).returncode == 0
    # 500 items of JSON (far more than a pipe holds): cut while still writing
    code, stderr = _cut(["--db", str(db), "search", "--json"], read=100)
    assert (code, stderr) == (0, "")
    # one item: all of it is buffered, the cut shows at the last flush
    code, stderr = _cut(["--db", str(db), "search", "--json", "--limit", "1"], read=0)
    assert (code, stderr) == (0, "")


def test_a_refused_strict_import_keeps_exit_1_when_cut(tmp_path):
    ledger = tmp_path / "bad.csv"
    ledger.write_text(
        "Code client;N° pièce;Échéance;Montant\nC1;F1;2026-01-31;1x0\n",
        encoding="utf-8",
    )
    db = tmp_path / "cli.duckdb"
    code, stderr = _cut(
        ["import", str(ledger), "--strict", "--json", "--db", str(db)], 0
    )
    assert code == 1
    assert "nothing was imported" in stderr
    assert "Traceback" not in stderr


def test_action_create_refuses_empty_text_and_warns_of_a_past_date(tmp_path, data_file):
    db = tmp_path / "cli.duckdb"
    dunning("import", str(data_file("echeancier_clients_cp1252.csv")), db=db)
    empty, blank, body = (tmp_path / n for n in ("empty.txt", "blank.txt", "b.txt"))
    empty.write_text("", encoding="utf-8")
    blank.write_text("\n\n   \n", encoding="utf-8")
    body.write_text(REMINDER, encoding="utf-8")
    base = ("action", "create", "--customer", "C00012", "--items", "FA-2026-0041")
    base += ("--type", "letter")

    for text in (empty, blank):
        done = dunning(*base, "--body-file", str(text), "--subject", "Relance", db=db)
        assert done.returncode != 0 and "The body is empty" in done.stderr
    done = dunning(*base, "--body-file", str(body), db=db)  # no --subject
    assert done.returncode != 0
    assert "The subject is empty: a letter needs one" in done.stderr
    assert json.loads(dunning("action", "list", "--json", db=db).stdout) == {
        "actions": []
    }

    done = dunning(
        *base, "--body-file", str(body), "--subject", "Relance", "--date",
        "2020-01-01", "--json", db=db,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"action_id": 1, "status": "planned"}
    assert (
        "warning: Planned for 01/01/2020, in the past: it is due at once."
        in done.stderr
    )


def test_action_show_keeps_the_validated_totals_beside_the_claimed_ones(
    tmp_path, data_file
):
    db, out = tmp_path / "cli.duckdb", tmp_path / "out"
    body = tmp_path / "relance.txt"
    body.write_text(REMINDER, encoding="utf-8")
    dunning("import", str(data_file("echeancier_clients_cp1252.csv")), db=db)
    create = ("action", "create", "--customer", "C00012", "--type", "letter")
    create += ("--items", "FA-2026-0041,FA-2026-0077", "--body-file", str(body))
    create += ("--subject", "Relance", "--date", "2026-02-20", "--mode", "auto")
    assert dunning(*create, db=db).returncode == 0
    # FA-2026-0041 is no longer listed on 2026-02-18: paid, dropped at the run.
    partial = data_file("echeancier_C00012_partial.csv")
    dunning("import", str(partial), "--as-of", "2026-02-18", db=db)
    dunning("run-due", "--date", "2026-02-20", "--out", str(out), db=db)

    show = ("action", "show", "1", "--as-of", "2026-02-20")
    shown = json.loads(dunning(*show, "--json", db=db).stdout)
    # At validation (2026-02-15): 1234.56 + 12500.00, penalties 46.16 + 44.16
    assert shown["totals"]["EUR"]["amount_selected"] == "13734.56"
    assert shown["totals"]["EUR"]["penalties"] == "90.32"
    # Carried out on 2026-02-20 on FA-2026-0077 alone, 6 days late:
    # 12500.00 x 0.1215 x 6 / 365 = 24.9658 -> 24.97; + 40.00 = 64.97
    assert shown["totals_claimed"] == {
        "EUR": {
            "amount_selected": "12500.00",
            "interest": "24.97",
            "indemnity": "40.00",
            "penalties": "64.97",
            "amount_including_penalties": "12564.97",  # 12500.00 + 64.97
        }
    }
    first, second = shown["items"]
    assert (first["doc_number"], first["open_amount_claimed"]) == ("FA-2026-0041", None)
    assert (first["open_amount_now"], first["status_now"]) == ("0.00", "closed")
    assert (second["open_amount_claimed"], second["penalty_claimed"]) == (
        "12500.00",
        "64.97",
    )
    assert second["days_late_claimed"] == 6 and second["status_now"] == "open"

    text = dunning(*show, db=db).stdout
    assert "Totals at validation (EUR): 13,734.56" in text
    assert "Claimed when carried out (EUR): 12,500.00" in text
    listed = dunning("action", "list", db=db).stdout
    assert "at validation 13,734.56 EUR; claimed when carried out 12,500.00 EUR" in (
        listed
    )

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

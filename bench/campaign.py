"""Benchmark: a campaign of 1,000 customers rendered to HTML, then to PDF on 1 and 2
cores, in one run.

The workspace is built the way a user builds one: three French CSV files (customers,
contacts, items; 3 to 5 overdue invoices per customer, now and then a credit note)
written under bench/out/ and imported through `dunning.importing`. The campaign is
"every invoice at least one day late" with the first-reminder letter template.

(a) HTML: `campaigns.Renderer` loads every customer's values in bulk (a fixed
number of queries), then renders each customer's subject, text and HTML body with
the template compiled once. Figures: reminders per second excluding and including
the bulk loading, and the letter documents (the HTML the PDF is made from). For
scale, the per-customer path (`rendering.preview`, which queries per customer) is
timed on a sample.

(b) PDF: the letter documents are made once in this process, then WeasyPrint turns
them into PDFs in this one process, and with two worker processes
(ProcessPoolExecutor) each handed HTML strings, the two taking turns over slices
of the letters. The pool's start-up (each worker imports WeasyPrint) is reported
apart from the rendering itself, and the load average at the end: other processes
on the machine lower the two-core figure first.
Targets (DESIGN 16): at least 1,000 HTML reminders per second; PDF with both cores
at least 1.7x a single process. Figures only: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import datetime as dt
import json
import multiprocessing
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))

AS_OF = dt.date(2026, 2, 15)
TEMPLATE = "relance-1-fr"
SEED = 20260215
SAMPLE = 50  # customers rendered through the per-customer path, for scale
ROUNDS = 10  # the PDF contenders take turns over this many slices of the letters


def write_ledger(folder: Path, customers: int) -> dict[str, Path]:
    """Customers, contacts and items as a French ledger export writes them."""
    from dunning import demo

    rng = random.Random(SEED)
    customer_rows, contact_rows, item_rows = [], [], []
    for index in range(customers):
        number = f"C{10000 + index}"
        english = index % 10 == 9
        name = f"{'Northwind' if english else 'Boulangerie'} {index:04d}"
        customer_rows.append(
            [
                number, name, f"{1 + index % 140} rue de la Paix", "75002", "Paris",
                "GB" if english else "FR", "en" if english else "fr",
                "GBP" if english else "EUR", "30", "Retail", "Claire Martin",
                "01 99 00 12 34",
            ]
        )  # fmt: skip
        if index % 20 != 7:  # one customer in twenty has no email
            contact_rows.append(
                [number, "Julien Caron", "dunning", f"compta{index}@example.com", ""]
            )
        item_rows += _items(rng, number, name, "GBP" if english else "EUR")
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for kind, header, rows in (
        ("customers", demo.CUSTOMER_HEADER, customer_rows),
        ("contacts", demo.CONTACT_HEADER, contact_rows),
        ("items", demo.ITEM_HEADER, item_rows),
    ):
        paths[kind] = folder / f"campaign-{kind}.csv"
        with paths[kind].open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, delimiter=";", lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)
    return paths


def _items(rng: random.Random, number: str, name: str, currency: str) -> list:
    """3 to 5 overdue invoices, and a credit note for one customer in eight."""
    from dunning import demo

    rows = []
    for count in range(rng.randint(3, 5)):
        late = rng.randint(5, 200)
        due = AS_OF - dt.timedelta(days=late)
        issued = due - dt.timedelta(days=30)
        amount = demo.amount_text(Decimal(rng.randint(5_000, 900_000)) / 100)
        rows.append(
            [
                number, name, "Facture", f"FA-{number}-{count:02d}",
                f"Livraison {issued:%m/%Y}", f"{issued:%d/%m/%Y}", f"{due:%d/%m/%Y}",
                amount, amount, currency, "", "",
            ]
        )  # fmt: skip
    if rng.random() < 0.125:
        credit = demo.amount_text(-Decimal(rng.randint(1_000, 20_000)) / 100)
        day = f"{AS_OF - dt.timedelta(days=20):%d/%m/%Y}"
        rows.append(
            [number, name, "Avoir", f"AV-{number}", "Retour", day, day, credit,
             credit, currency, "", ""]
        )  # fmt: skip
    return rows


def build(path: Path, customers: int):
    """A fresh workspace holding the generated ledger, imported as a user would."""
    from dunning import importing, store

    for stale in (path, path.with_suffix(".duckdb.wal")):
        stale.unlink(missing_ok=True)
    con = store.connect(path)
    files = write_ledger(OUT / "campaign-ledger", customers)
    for kind in ("customers", "contacts", "items"):
        options = importing.Options(kind=kind, as_of=AS_OF)
        report = importing.import_file(con, files[kind], options)
        if not report.committed or report.rows_rejected:
            raise SystemExit(f"{kind}: import failed: {report.errors[:3]}")
    return con


def html_figures(con, count: int) -> tuple[dict, list[str]]:
    """(a) The campaign rendered to HTML: bulk loads, then every customer."""
    from dunning import campaigns, rendering, search

    filters = search.Filters(min_days_late=1, doc_type=["invoice"])
    started = time.perf_counter()
    draft = campaigns.draft(con, filters, AS_OF, TEMPLATE, type="letter")
    draft_s = time.perf_counter() - started
    chased = [g.customer_number for g in draft.chased]

    # The fast path: bulk loads once, then one rendering per customer.
    started = time.perf_counter()
    renderer = campaigns.Renderer(con, draft)
    bulk_s = time.perf_counter() - started
    started, cpu = time.perf_counter(), time.process_time()
    rendered = {number: renderer.preview(number) for number in chased}
    render_s = time.perf_counter() - started
    render_cpu_s = time.process_time() - cpu
    started = time.perf_counter()
    documents = [renderer.letter(n, rendered[n]) for n in chased]
    letters_s = time.perf_counter() - started

    # For scale: the per-customer path, which queries for every customer.
    sample = chased[:SAMPLE]
    started = time.perf_counter()
    for number in sample:
        group = draft.group(number)
        rendering.preview(con, number, group.item_ids, AS_OF, draft.subject, draft.body)
    per_customer_s = (time.perf_counter() - started) / len(sample)

    figures = {
        "customers": count,
        "chased": len(chased),
        "items": sum(len(draft.group(n).items) for n in chased),
        "draft_s": round(draft_s, 3),
        "bulk_load_s": round(bulk_s, 3),
        "render_s": round(render_s, 3),
        "html_per_s_excluding_bulk": round(len(chased) / render_s),
        "html_per_s_including_bulk": round(len(chased) / (render_s + bulk_s)),
        "html_per_cpu_s": round(len(chased) / render_cpu_s),
        "letter_documents_s": round(letters_s, 3),
        "letters_per_s_including_bulk": round(
            len(chased) / (render_s + bulk_s + letters_s)
        ),
        "per_customer_path_per_s": round(1 / per_customer_s),
    }
    return figures, documents


def _pdf(document: str) -> bytes:
    from dunning import letters

    return letters.pdf(document)


def pdf_figures(documents: list[str]) -> dict:
    """(b) The letters to PDF: one process, then two worker processes.

    The two take turns over ROUNDS slices of the letters, so that a busy moment of
    the machine (other processes share its two cores) weighs on both alike.
    """
    _pdf(documents[0])  # WeasyPrint imported and warmed in this process
    size = -(-len(documents) // ROUNDS)
    parts = [documents[i : i + size] for i in range(0, len(documents), size)]
    single_s = pooled_s = 0.0
    made = 0
    context = multiprocessing.get_context("spawn")
    started = time.perf_counter()
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=context) as pool:
        list(pool.map(_pdf, documents[:2]))  # each worker imports WeasyPrint
        startup_s = time.perf_counter() - started
        for part in parts:
            started = time.perf_counter()
            made += sum(len(_pdf(document)) for document in part)
            single_s += time.perf_counter() - started
            started = time.perf_counter()
            chunk = max(1, len(part) // 16)
            pooled = list(pool.map(_pdf, part, chunksize=chunk))
            pooled_s += time.perf_counter() - started
    (OUT / "campaign-letter-last.pdf").write_bytes(pooled[-1])
    return {
        "letters": len(documents),
        "pdf_bytes": made,
        "one_process_s": round(single_s, 2),
        "one_process_per_s": round(len(documents) / single_s, 1),
        "two_workers_s": round(pooled_s, 2),
        "two_workers_per_s": round(len(documents) / pooled_s, 1),
        "two_workers_startup_s": round(startup_s, 2),
        "speed_up": round(single_s / pooled_s, 2),
        "speed_up_including_startup": round(single_s / (pooled_s + startup_s), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument(
        "--pdf", type=int, default=None, help="letters to PDF (default: all)"
    )
    options = parser.parse_args()
    os.environ.setdefault("DUNNING_TODAY", AS_OF.isoformat())
    OUT.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    con = build(OUT / "campaign.duckdb", options.customers)
    elapsed = time.perf_counter() - started
    print(f"workspace: {options.customers} customers built in {elapsed:.1f} s")
    html, documents = html_figures(con, options.customers)
    con.close()
    print(
        f"(a) HTML: {html['chased']} reminders ({html['items']} items); bulk loads "
        f"{html['bulk_load_s']} s, rendering {html['render_s']} s -> "
        f"{html['html_per_s_excluding_bulk']:,}/s excluding and "
        f"{html['html_per_s_including_bulk']:,}/s including the bulk loads "
        f"(target >= 1,000/s; {html['html_per_cpu_s']:,} per CPU second); with "
        "the letter documents "
        f"{html['letters_per_s_including_bulk']:,}/s; the per-customer path "
        f"{html['per_customer_path_per_s']:,}/s"
    )
    pdf = pdf_figures(documents[: options.pdf] if options.pdf else documents)
    print(
        f"(b) PDF: {pdf['letters']} letters, one process {pdf['one_process_s']} s "
        f"({pdf['one_process_per_s']}/s), two workers {pdf['two_workers_s']} s "
        f"({pdf['two_workers_per_s']}/s) after a {pdf['two_workers_startup_s']} s "
        f"start -> speed-up {pdf['speed_up']}x ({pdf['speed_up_including_startup']}x "
        "with the start; target >= 1.7x)"
    )
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"load average at the end (1, 5, 15 min): {load} on {os.cpu_count()} cores")
    result = {"html": html, "pdf": pdf, "cpus": os.cpu_count(), "load": load}
    (OUT / "campaign.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()

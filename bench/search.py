"""Benchmark: one search at 1M and 5M items, against pandas and polars, in one run.

The search is what the Search page runs for every rerun: the count and per-currency
totals of every match and one sorted page of 500 rows, with the filter "at least 30
days late, open amount at least 500, text 'maint'" at one as-of date. Contenders,
each in a fresh process so its resident memory is its own:
- ours: `dunning.search.run` on a workspace file built by DuckDB SQL under bench/out/;
- pandas: the same ledger held in a DataFrame with float amounts, the peer an analyst
  would otherwise write (DESIGN 16);
- polars: the same ledger held in a polars DataFrame, searched as usually written
  (one lazy filter) and staged (text matched only on what the numbers keep); the
  faster of the two is the one compared against.

Prints the median of 5 timed runs (after one warm-up; the contenders take turns, so
a busy moment of the machine hits all of them), the ratios and the resident memory
(RSS) of each process holding its data. Targets (DESIGN 16): at least 1.6x
faster than pandas and no slower than polars; at 5M items ours under 0.4x of the
pandas peer's memory.

Then the Search page itself (DESIGN 16): app.py driven by Streamlit's AppTest on a
workspace of 10k and of 1M items, each in a fresh process. After a first run, it
times reruns of three kinds: ticking a row (the search is cached, the basket is
read again), turning to the next page of rows, and submitting the form with a new
"at least N days late" (both run the search in SQL). A page never sends more than
one page of 500 rows, so the target is a rerun at 1M within 1.3x of one at 10k.
Figures only: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))

AS_OF = dt.date(2025, 8, 14)
MIN_DAYS_LATE = 30
MIN_AMOUNT = Decimal("500")
TEXT = "maint"
LIMIT = 500
RUNS = 5
PAGE_ROWS = [10_000, 1_000_000]
PAGE_RUNS = 7
PAGE_KINDS = ("tick a row", "next page", "new filter")
GENERATOR = "search-ledger-1"  # change when `build` changes, to rebuild old files
CUSTOMERS = 20_000


def build(path: Path, rows: int) -> None:
    """A deterministic workspace of `rows` items in three currencies, by DuckDB SQL.

    Invoices and credit notes issued over 20 months, a third of them paid (some
    after the as-of date), a fifth partly paid, one in seven about maintenance.
    """
    from dunning import store

    con = store.connect(path)
    done = store.get_setting(con, "bench.generator")
    count = con.execute("SELECT count(*) FROM items").fetchone()[0]
    if done == GENERATOR and count == rows:
        con.close()
        return
    with store.transaction(con):
        store.clear_data(con)
        con.execute(
            f"""
            INSERT INTO customers (customer_number, name, language, currency,
                payment_terms_days, segment, account_manager, penalty_rule,
                indemnity_enabled)
            SELECT printf('C%05d', c),
                CASE WHEN c % 40 = 0 THEN 'Maintenance Industrielle ' || c
                     ELSE 'Client ' || c END,
                'fr', 'EUR', 30, CASE WHEN c % 3 = 0 THEN 'PME' ELSE 'ETI' END,
                'AM' || (c % 12), 'fr_legal', true
            FROM range({CUSTOMERS}) t(c)
            """
        )
        con.execute(
            f"""
            INSERT INTO items (item_id, customer_number, doc_type, doc_number,
                issue_date, due_date, amount, open_amount, currency, reference,
                paid_date, status)
            SELECT i + 1, printf('C%05d', i % {CUSTOMERS}), kind,
                printf('%s-%08d', CASE kind WHEN 'invoice' THEN 'FA' ELSE 'AV' END, i),
                issued, issued + 30, amount,
                CASE WHEN i % 5 = 0 THEN round(amount / 2, 2) ELSE amount END,
                CASE WHEN i % 20 IN (0, 1) THEN 'USD' WHEN i % 20 = 2 THEN 'GBP'
                     ELSE 'EUR' END,
                CASE WHEN i % 7 = 0 THEN 'Maintenance contrat ' || (i % 97)
                     ELSE 'Prestation ' || (i % 97) END,
                CASE WHEN i % 3 = 0 THEN issued + (20 + i % 60)::INTEGER END,
                CASE WHEN i % 29 = 0 THEN 'disputed' ELSE 'open' END
            FROM (
              SELECT i,
                CASE WHEN i % 17 = 0 THEN 'credit_note' ELSE 'invoice' END AS kind,
                DATE '2024-01-01' + ((i * 7) % 590)::INTEGER AS issued,
                ((CASE WHEN i % 17 = 0 THEN -1 ELSE 1 END)
                  * ((i * 7919) % 2500000) / 100.0)::DECIMAL(18,2) AS amount
              FROM range({rows}) t(i)
            )
            """
        )
        store.set_setting(con, "bench.generator", GENERATOR)
    con.execute("CHECKPOINT")
    con.close()


# ---------------------------------------------------------------------------
# Contenders: each loads its data once, then runs the search


def _ours(path: str):
    from dunning import search, store

    con = store.connect(path)
    filters = search.Filters(
        min_days_late=MIN_DAYS_LATE, min_amount=MIN_AMOUNT, text=TEXT
    )

    def run():
        found = search.run(con, filters, AS_OF, limit=LIMIT)
        return found.count, {c: float(t) for c, t in found.totals.items()}, found.items

    return run


PEER_SQL = """
    SELECT i.item_id, i.customer_number, c.name AS customer_name, i.doc_number,
        i.doc_type, i.issue_date, i.due_date, i.amount::DOUBLE AS amount,
        i.open_amount::DOUBLE AS open_amount, i.currency, i.status, i.reference,
        i.paid_date
    FROM items i JOIN customers c USING (customer_number)
"""


def _pandas(path: str):
    import duckdb
    import pandas as pd

    con = duckdb.connect(path, read_only=True)
    frame = con.sql(PEER_SQL).df()  # float amounts, datetime64 dates, str text
    con.close()
    day = pd.Timestamp(AS_OF)

    def run():
        # numeric conditions first, text only on what is left: a careful analyst
        late = (day - frame["due_date"]).dt.days.clip(lower=0)
        late = late.where(~frame["doc_type"].isin(["credit_note", "payment"]), 0)
        keep = (
            (frame["issue_date"] <= day)
            & ~(frame["paid_date"] <= day)
            & (frame["open_amount"] != 0)
            & (late >= MIN_DAYS_LATE)
            & (frame["open_amount"] >= float(MIN_AMOUNT))
        )
        found = frame[keep]
        words = (
            found["doc_number"].str.contains(TEXT, case=False, regex=False)
            | found["reference"].str.contains(TEXT, case=False, regex=False)
            | found["customer_name"].str.contains(TEXT, case=False, regex=False)
        )
        found = found[words].assign(days_late=late[keep][words])
        totals = found.groupby("currency")["open_amount"].sum().round(2).to_dict()
        page = found.sort_values(["due_date", "item_id"]).head(LIMIT)
        return len(found), totals, page

    return run


def _polars_frame(path: str):
    import duckdb

    con = duckdb.connect(path, read_only=True)
    frame = con.sql(PEER_SQL).pl()
    con.close()
    return frame


def _polars_conditions():
    import polars as pl

    pattern = "(?i)" + re.escape(TEXT)
    late = (
        pl.when(pl.col("doc_type").is_in(["credit_note", "payment"]))
        .then(0)
        .otherwise((pl.lit(AS_OF) - pl.col("due_date")).dt.total_days().clip(0))
    )
    numbers = (
        (pl.col("issue_date") <= AS_OF)
        & ~(pl.col("paid_date") <= AS_OF).fill_null(False)
        & (pl.col("open_amount") != 0)
        & (pl.col("days_late") >= MIN_DAYS_LATE)
        & (pl.col("open_amount") >= float(MIN_AMOUNT))
    )
    words = (
        pl.col("doc_number").str.contains(pattern)
        | pl.col("reference").str.contains(pattern)
        | pl.col("customer_name").str.contains(pattern)
    )
    return late, numbers, words


def _polars_result(found):
    import polars as pl

    sums = found.group_by("currency").agg(pl.col("open_amount").sum())
    totals = {c: round(t, 2) for c, t in sums.iter_rows()}
    page = found.sort(["due_date", "item_id"]).head(LIMIT)
    return found.height, totals, page


def _polars(path: str):
    """Polars as usually written: one lazy filter of every condition."""
    frame = _polars_frame(path)
    late, numbers, words = _polars_conditions()

    def run():
        found = frame.lazy().with_columns(days_late=late).filter(numbers & words)
        return _polars_result(found.collect())

    return run


def _polars_staged(path: str):
    """Polars with the text matched only on rows the numeric conditions keep."""
    frame = _polars_frame(path)
    late, numbers, words = _polars_conditions()

    def run():
        candidates = frame.lazy().with_columns(days_late=late).filter(numbers)
        return _polars_result(candidates.collect().filter(words))

    return run


CONTENDERS = {
    "ours": _ours,
    "pandas": _pandas,
    "polars": _polars,
    "polars-staged": _polars_staged,
}


def child(name: str, path: str) -> None:
    """Load one contender's data, then run its search each time the parent asks.

    Speaks JSON lines on stdin/stdout: "run" answers the seconds of one search,
    "done" answers the result and the resident memory, then the process ends.
    """
    import gc

    import psutil

    run = CONTENDERS[name](path)
    gc.collect()
    loaded_mb = psutil.Process().memory_info().rss / 2**20
    count, totals, page = run()  # warm-up: first reads, caches, compiled regexes
    print(json.dumps({"loaded_mb": loaded_mb}), flush=True)
    for command in sys.stdin:
        if command.strip() == "run":
            start = time.perf_counter()
            count, totals, page = run()
            print(json.dumps({"seconds": time.perf_counter() - start}), flush=True)
            continue
        done = {
            "rss_mb": psutil.Process().memory_info().rss / 2**20,
            "count": count,
            "totals": {c: round(t, 2) for c, t in sorted(totals.items())},
            "page_rows": len(page),
        }
        print(json.dumps(done), flush=True)
        return


def measure(path: Path) -> dict[str, dict]:
    """Time every contender, taking turns run by run so load on the machine is shared.

    Each contender runs in a process of its own, started and warmed up before the
    first timed run; the turns make a busy moment of the machine hit all of them.
    """
    processes, results = {}, {}
    # one at a time, ours last: the peers have closed the file once loaded, and
    # DuckDB lets one process write a file only when no other has it open
    for name in sorted(CONTENDERS, key=lambda name: name == "ours"):
        processes[name] = subprocess.Popen(
            [sys.executable, __file__, "--child", name, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        results[name] = {**_answer(processes[name]), "seconds": []}
    for _ in range(RUNS):
        for name, process in processes.items():
            process.stdin.write("run\n")
            process.stdin.flush()
            results[name]["seconds"].append(_answer(process)["seconds"])
    for name, process in processes.items():
        process.stdin.write("done\n")
        process.stdin.flush()
        results[name].update(_answer(process))
        process.wait()
        results[name]["median_s"] = statistics.median(results[name]["seconds"])
    return {name: results[name] for name in CONTENDERS}


def _answer(process: subprocess.Popen) -> dict:
    line = process.stdout.readline()
    if not line:
        raise SystemExit(f"a benchmark process stopped (exit {process.wait()})")
    return json.loads(line)


def _median(result: dict) -> float:
    return result["median_s"]


def report(rows: int, path: Path, results: dict[str, dict]) -> None:
    size_mb = path.stat().st_size / 2**20
    print(f"\n{rows:,} items ({path.name}, {size_mb:.0f} MB), as of {AS_OF}")
    ours = results["ours"]
    print(f"  matches: {ours['count']:,}, totals {ours['totals']}")
    for name, result in results.items():
        same = (result["count"], result["totals"]) == (ours["count"], ours["totals"])
        print(
            f"  {name:>13}: {result['median_s'] * 1000:8.1f} ms (median of {RUNS})  "
            f"RSS {result['rss_mb']:6.0f} MB (after loading {result['loaded_mb']:.0f})"
            + ("" if same else "  RESULT DIFFERS FROM OURS")
        )
    over_pandas = results["pandas"]["median_s"] / ours["median_s"]
    polars = min(results["polars"], results["polars-staged"], key=_median)
    over_polars = polars["median_s"] / ours["median_s"]
    memory = ours["rss_mb"] / results["pandas"]["rss_mb"]
    print(f"  speed-up over pandas: {over_pandas:.2f}x (target >= 1.6x)")
    print(f"  speed-up over the faster polars: {over_polars:.2f}x (target >= 1.0x)")
    print(f"  memory ours / pandas: {memory:.2f}x (target at 5M < 0.4x)")


# ---------------------------------------------------------------------------
# The Search page, rerun by AppTest


def _navigation_only() -> None:
    """Make AppTest run app.py on every rerun, as the server does.

    Beside a pages/ folder AppTest would re-detect Streamlit's folder-based
    multipage mode and run the page file alone from the second run on (the same
    patch as the page tests' fixture).
    """
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import app_test

    PagesManager.uses_pages_directory = None
    real = app_test.PagesManager

    def navigation_pages(*args, **kwargs):
        manager = real(*args, **kwargs)
        PagesManager.uses_pages_directory = False
        return manager

    app_test.PagesManager = navigation_pages


def _rerun(at) -> float:
    start = time.perf_counter()
    at.run()
    seconds = time.perf_counter() - start
    if at.exception:
        raise SystemExit(f"the Search page failed: {at.exception[0].message}")
    return seconds


def page_child(path: str) -> None:
    """Open the Search page on a workspace and time its reruns; print JSON."""
    os.environ["DUNNING_DB"] = path
    os.environ["DUNNING_TODAY"] = AS_OF.isoformat()
    _navigation_only()
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.run()
    at.switch_page("pages/search.py")
    first = _rerun(at)
    seconds: dict[str, list[float]] = {kind: [] for kind in PAGE_KINDS}
    for run in range(PAGE_RUNS):
        table = next(d for d in at.dataframe if (d.key or "").startswith("search"))
        at.session_state[table.key] = {"selection": {"rows": [run]}}
        seconds["tick a row"].append(_rerun(at))
    for run in range(PAGE_RUNS):
        at.number_input(key="search_page").set_value(run + 2)
        seconds["next page"].append(_rerun(at))
    for run in range(PAGE_RUNS):
        days = next(n for n in at.number_input if n.label.startswith("Days late from"))
        days.set_value(MIN_DAYS_LATE + run)
        next(b for b in at.button if b.label == "Search").click()
        seconds["new filter"].append(_rerun(at))
    shipped = max(len(d.value) for d in at.dataframe)
    print(json.dumps({"first_s": first, "seconds": seconds, "rows_shipped": shipped}))


def page_race(sizes: list[int]) -> dict[int, dict]:
    """The Search page's reruns at each size, each size in a process of its own."""
    results = {}
    for rows in sizes:
        path = OUT / f"search_{rows}.duckdb"
        build(path, rows)
        done = subprocess.run(
            [sys.executable, __file__, "--page-child", str(path)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if done.returncode or not lines:
            raise SystemExit(f"the page benchmark stopped:\n{done.stderr[-2000:]}")
        results[rows] = json.loads(lines[-1])
    return results


def page_report(results: dict[int, dict]) -> None:
    print(f"\nSearch page reruns (AppTest running app.py, median of {PAGE_RUNS})")
    medians = {
        rows: {kind: statistics.median(v) for kind, v in result["seconds"].items()}
        for rows, result in results.items()
    }
    for rows, result in results.items():
        figures = "  ".join(f"{k} {v * 1000:6.1f} ms" for k, v in medians[rows].items())
        print(
            f"  {rows:>9,} items: first run {result['first_s'] * 1000:7.1f} ms  "
            f"{figures}  (largest table sent: {result['rows_shipped']} rows)"
        )
    small, large = min(results), max(results)
    for kind in PAGE_KINDS:
        ratio = medians[large][kind] / medians[small][kind]
        print(f"  {kind:>10}: {large:,} / {small:,} = {ratio:.2f}x (target <= 1.3x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="*", default=[1_000_000, 5_000_000])
    parser.add_argument("--page-rows", type=int, nargs="*", default=PAGE_ROWS)
    parser.add_argument("--child", nargs=2, metavar=("NAME", "DB"))
    parser.add_argument("--page-child", metavar="DB")
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    if args.page_child:
        page_child(args.page_child)
        return

    OUT.mkdir(parents=True, exist_ok=True)
    print(
        f"search: at least {MIN_DAYS_LATE} days late, open amount >= {MIN_AMOUNT}, "
        f"text {TEXT!r}, page of {LIMIT} by due date"
    )
    for rows in args.rows:
        path = OUT / f"search_{rows}.duckdb"
        start = time.perf_counter()
        build(path, rows)
        print(f"\nworkspace ready in {time.perf_counter() - start:.1f} s")
        results = measure(path)
        report(rows, path, results)
    if len(args.page_rows) >= 2:
        page_report(page_race(args.page_rows))


if __name__ == "__main__":
    main()

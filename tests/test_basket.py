"""The selection basket: ids picked across searches, totals, hidden count, pruning.

The workspace is tests/data/echeancier_clients_cp1252.csv; at 2026-02-15 it holds
C00012 FA-2026-0041 1234.56 (15 days late), FA-2026-0077 12500.00 (1 day late),
AV-2026-0003 -250.00 (credit note); C00027 FA-2025-1198 480.40 open of 980.40
(49 days late); C00031 FA-2026-0102 2045.10 (not due). All in EUR.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from dunning import basket, importing, search

AS_OF = dt.date(2026, 2, 15)
HEADER = (
    "Code client;Raison sociale;Type pièce;N° pièce;Libellé;Date pièce;"
    "Date échéance;Montant TTC;Devise;Reste dû\n"
)


@pytest.fixture
def con(con, data_file):
    importing.import_file(con, data_file("echeancier_clients_cp1252.csv"))
    return con


def ids_of(con, *docs: str) -> frozenset[int]:
    """The item ids of documents, read from the workspace."""
    stored = dict(con.execute("SELECT doc_number, item_id FROM items").fetchall())
    return frozenset(stored[doc] for doc in docs)


def docs_of(con, ids) -> set[str]:
    stored = dict(con.execute("SELECT item_id, doc_number FROM items").fetchall())
    return {stored[item_id] for item_id in ids}


def test_add_remove_clear_keep_a_set_of_ids(con):
    picked = basket.add(basket.clear(), ids_of(con, "FA-2026-0041", "FA-2026-0077"))
    picked = basket.add(picked, ids_of(con, "FA-2026-0041"))  # already in: no double
    assert docs_of(con, picked) == {"FA-2026-0041", "FA-2026-0077"}
    picked = basket.remove(picked, ids_of(con, "FA-2026-0077", "FA-2026-0102"))
    assert docs_of(con, picked) == {"FA-2026-0041"}
    assert basket.clear() == frozenset()


def test_rows_picked_by_position_become_ids_and_survive_a_new_sort(con):
    by_amount = search.run(con, search.Filters(), AS_OF, sort="open_amount")
    # ascending open amount: -250.00, 480.40, 1234.56, 2045.10, 12500.00
    picked = basket.add(basket.clear(), basket.ids_at(by_amount.items, [0, 4]))
    assert docs_of(con, picked) == {"AV-2026-0003", "FA-2026-0077"}

    # sorted by document number the same positions are other items; the basket is not
    by_doc = search.run(con, search.Filters(), AS_OF, sort="doc_number", limit=2)
    assert list(by_doc.items["doc_number"]) == ["AV-2026-0003", "FA-2025-1198"]
    assert docs_of(con, picked) == {"AV-2026-0003", "FA-2026-0077"}
    assert basket.ids_at(by_doc.rows, [1]) == sorted(ids_of(con, "FA-2025-1198"))


def test_select_all_takes_every_match_not_only_the_page(con):
    picked = ids_of(con, "FA-2026-0102")
    late = search.Filters(min_days_late=1)
    assert search.run(con, late, AS_OF, limit=1).count == 3  # a page of one row
    picked = basket.select_all(con, picked, late, AS_OF)
    # 49, 15 and 1 days late, plus the item picked before
    assert docs_of(con, picked) == {
        "FA-2025-1198",
        "FA-2026-0041",
        "FA-2026-0077",
        "FA-2026-0102",
    }


@pytest.mark.parametrize(
    ("docs", "as_of", "totals"),
    [
        ((), AS_OF, {}),
        (("FA-2025-1198",), AS_OF, {"EUR": "480.40"}),  # the open amount, not 980.40
        (("FA-2026-0041", "AV-2026-0003"), AS_OF, {"EUR": "984.56"}),  # 1234.56-250
        (
            ("FA-2026-0041", "FA-2026-0077", "AV-2026-0003", "FA-2025-1198"),
            AS_OF,
            {"EUR": "13964.96"},  # 1234.56 + 12500.00 - 250.00 + 480.40
        ),
        (
            (
                "FA-2026-0041",
                "FA-2026-0077",
                "AV-2026-0003",
                "FA-2025-1198",
                "FA-2026-0102",
            ),
            AS_OF,
            {"EUR": "16010.06"},  # 13964.96 + 2045.10, the file's "Reste dû" total
        ),
        (
            (
                "FA-2026-0041",
                "FA-2026-0077",
                "AV-2026-0003",
                "FA-2025-1198",
                "FA-2026-0102",
            ),
            dt.date(2026, 1, 10),
            {"EUR": "1714.96"},  # issued by then: 1234.56 (2 Jan) + 480.40 (28 Nov)
        ),
    ],
)
def test_totals_per_currency_at_the_as_of_date(con, docs, as_of, totals):
    found = basket.totals(con, ids_of(con, *docs), as_of)
    assert found == {currency: Decimal(total) for currency, total in totals.items()}
    assert all(isinstance(total, Decimal) for total in found.values())


def test_totals_are_never_summed_across_currencies(con, tmp_path):
    usd = tmp_path / "usd.csv"
    usd.write_text(
        HEADER + "C00040;Kowalski Trading Ltd;Facture;FU-2026-0005;Conseil;15/01/2026;"
        "14/02/2026;2 000,00;USD;2 000,00\n"
        "C00040;Kowalski Trading Ltd;Facture;FU-2026-0009;Support;20/01/2026;"
        "19/02/2026;149,99;USD;149,99\n",
        encoding="utf-8",
    )
    importing.import_file(con, usd)
    picked = ids_of(con, "FU-2026-0005", "FU-2026-0009", "FA-2026-0041", "AV-2026-0003")
    assert basket.totals(con, picked, AS_OF) == {
        "EUR": Decimal("984.56"),  # 1234.56 - 250.00
        "USD": Decimal("2149.99"),  # 2000.00 + 149.99
    }


@pytest.mark.parametrize(
    ("filters", "hidden"),
    [
        (search.Filters(), 0),  # every open item matches
        (search.Filters(min_days_late=30), 2),  # only FA-2025-1198 (49 days) shows
        (search.Filters(text="maint"), 2),  # only "Maintenance T4 2025" shows
        (search.Filters(customer=["C00012"]), 2),  # FA-2025-1198, FA-2026-0102 hidden
        (search.Filters(where="days_late > 10"), 1),  # 49 and 15 show, 0 is hidden
        (search.Filters(customer=["C99999"]), 3),
    ],
)
def test_hidden_counts_selected_items_the_search_does_not_show(con, filters, hidden):
    picked = ids_of(con, "FA-2026-0041", "FA-2025-1198", "FA-2026-0102")
    assert basket.hidden(con, picked, filters, AS_OF) == hidden


def test_summary_gathers_count_totals_and_hidden(con):
    picked = ids_of(con, "FA-2026-0041", "FA-2025-1198", "FA-2026-0102")
    found = basket.summary(con, picked, search.Filters(min_days_late=30), AS_OF)
    # 1234.56 + 480.40 + 2045.10 = 3760.06; FA-2026-0041 and FA-2026-0102 are hidden
    assert found == basket.Summary(3, {"EUR": Decimal("3760.06")}, 2)
    assert basket.summary(con, basket.clear(), search.Filters(), AS_OF) == (
        basket.Summary(0, {}, 0)
    )


def test_an_item_closed_by_an_import_leaves_the_basket_with_a_notice(con, tmp_path):
    picked = ids_of(con, "FA-2026-0041", "FA-2026-0077", "FA-2025-1198")
    snapshot = tmp_path / "c00012_friday.csv"
    snapshot.write_text(
        HEADER + "C00012;Boulangerie Lefèvre & Fils;Facture;FA-2026-0077;Four mixte;"
        "15/01/2026;14/02/2026;12 500,00;EUR;12 500,00\n"
        "C00012;Boulangerie Lefèvre & Fils;Avoir;AV-2026-0003;Retour marchandise;"
        "20/01/2026;20/01/2026;-250,00;EUR;-250,00\n",
        encoding="utf-8",
    )
    report = importing.import_file(con, snapshot)  # C00012 no longer lists 0041
    assert report.items_closed == 1

    kept, dropped = basket.prune(con, picked, AS_OF)
    assert docs_of(con, kept) == {"FA-2026-0077", "FA-2025-1198"}
    assert dropped == [
        basket.Dropped(min(ids_of(con, "FA-2026-0041")), "C00012", "FA-2026-0041")
    ]
    assert basket.notice(dropped, AS_OF) == (
        "1 selected item left the basket, no longer open at 2026-02-15: "
        "C00012 FA-2026-0041."
    )
    # closed as paid on 2026-02-15 (today): replaying the day before keeps it open
    assert basket.prune(con, picked, dt.date(2026, 2, 14)) == (picked, [])
    assert basket.totals(con, picked, AS_OF) == {"EUR": Decimal("12980.40")}


def test_an_id_no_longer_stored_is_dropped_without_a_document(con):
    picked = ids_of(con, "FA-2026-0041") | {999_999}
    kept, dropped = basket.prune(con, picked, AS_OF)
    assert docs_of(con, kept) == {"FA-2026-0041"}
    assert dropped == [basket.Dropped(999_999, None, None)]
    assert basket.notice(dropped, AS_OF) == (
        "1 selected item left the basket, no longer open at 2026-02-15: "
        "1 no longer in the workspace."
    )
    assert basket.prune(con, basket.clear(), AS_OF) == (frozenset(), [])
    assert basket.notice([], AS_OF) is None


def test_a_long_notice_names_ten_documents_then_counts(con):
    dropped = [basket.Dropped(i, "C1", f"FA-{i:02d}") for i in range(12)]
    dropped.append(basket.Dropped(99, None, None))
    assert basket.notice(dropped, AS_OF) == (
        "13 selected items left the basket, no longer open at 2026-02-15: "
        + ", ".join(f"C1 FA-{i:02d}" for i in range(10))
        + " and 2 more; 1 no longer in the workspace."
    )


@pytest.mark.parametrize(
    ("basket_ids", "before", "now", "after"),
    [
        # nothing ticked before, rows 7 and 8 ticked now: both join the basket
        ({1}, [], [7, 8], {1, 7, 8}),
        # 8 unticked: it leaves; 1, on another page of rows, stays
        ({1, 7, 8}, [7, 8], [7], {1, 7}),
        # a tick on an item already in the basket from another page adds nothing
        ({1, 7}, [], [1], {1, 7}),
        # the same ticks as before: the basket is left as it is
        ({1, 7}, [7], [7], {1, 7}),
        # everything unticked on this page: the other pages' items stay
        ({1, 7, 8}, [7, 8], [], {1}),
    ],
)
def test_ticks_add_and_remove_only_the_rows_they_changed(
    basket_ids, before, now, after
):
    assert basket.ticked(frozenset(basket_ids), before, now) == frozenset(after)


def test_positions_of_basket_items_in_a_page_of_rows():
    # a page of ids 30, 10, 20, 40 (sorted by something else than the id)
    assert basket.positions(frozenset({10, 40, 99}), [30, 10, 20, 40]) == [1, 3]
    assert basket.positions(basket.EMPTY, [30, 10]) == []


def test_a_tick_mapped_to_ids_survives_the_next_page_of_rows(con):
    # page 1 of 2 by due date: FA-2025-1198 (28/12/2025), AV-2026-0003 (20/01/2026)
    first = search.run(con, search.Filters(), AS_OF, limit=2)
    picked = basket.ticked(basket.EMPTY, [], basket.ids_at(first.rows, [1]))
    # page 2: FA-2026-0041, FA-2026-0077; the new table starts with nothing ticked
    second = search.run(con, search.Filters(), AS_OF, limit=2, offset=2)
    assert basket.positions(picked, [row["item_id"] for row in second.rows]) == []
    picked = basket.ticked(picked, [], basket.ids_at(second.rows, [0]))
    assert docs_of(con, picked) == {"AV-2026-0003", "FA-2026-0041"}


def test_workspace_version_changes_with_an_import(con, tmp_path):
    before = basket.workspace_version(con)
    assert basket.workspace_version(con) == before  # reading changes nothing
    more = tmp_path / "more.csv"
    more.write_text(
        HEADER + "C00040;Kowalski Trading Ltd;Facture;FU-2026-0005;Conseil;"
        "15/01/2026;14/02/2026;2 000,00;USD;2 000,00\n",
        encoding="utf-8",
    )
    importing.import_file(con, more)
    assert basket.workspace_version(con) != before


def test_the_basket_split_by_customer_counts_the_others(con):
    picked = ids_of(con, "FA-2026-0041", "FA-2026-0077", "FA-2025-1198")
    mine, others = basket.of_customer(con, picked, "C00012")
    assert docs_of(con, mine) == {"FA-2026-0041", "FA-2026-0077"}
    assert others == 1  # FA-2025-1198 is C00027's
    assert basket.of_customer(con, picked, "C00031") == (basket.EMPTY, 3)
    assert basket.of_customer(con, basket.EMPTY, "C00012") == (basket.EMPTY, 0)


def test_basket_penalties_per_currency_across_customers(con, tmp_path):
    """Every customer takes the import defaults: fr_legal, indemnity on; the ECB
    rate is 2.15 % on 1 Jul 2025 and on 1 Jan 2026, so 12.15 % throughout.

    FA-2026-0041 1234.56 EUR, 15 days: 1234.56 x 0.1215 x 15 / 365 = 6.1643 -> 6.16
    FA-2025-1198 480.40 EUR, 49 days (3 in 2025, 46 in 2026 at the same rate):
        480.40 x 0.1215 x 49 / 365 = 7.8358 -> 7.84
    FU-2026-0005 2000.00 USD (C00040), 1 day: 2000 x 0.1215 / 365 = 0.6658 -> 0.67
    Indemnities 3 x 40.00 EUR, the USD one included (fixed in euros).
    EUR: interest 6.16 + 7.84 = 14.00, penalties 14.00 + 120.00 = 134.00,
         with the amounts 1234.56 + 480.40 + 134.00 = 1848.96.
    USD: penalties 0.67, with the amount 2000.00 + 0.67 = 2000.67.
    """
    more = tmp_path / "usd.csv"
    more.write_text(
        HEADER + "C00040;Kowalski Trading Ltd;Facture;FU-2026-0005;Conseil;"
        "15/01/2026;14/02/2026;2 000,00;USD;2 000,00\n",
        encoding="utf-8",
    )
    importing.import_file(con, more)
    picked = ids_of(con, "FA-2026-0041", "FA-2025-1198", "FU-2026-0005")
    totals = basket.penalty_totals(con, picked, AS_OF)
    assert list(totals) == ["EUR", "USD"]
    eur, usd = totals["EUR"], totals["USD"]
    assert (eur.interest, eur.indemnity) == (Decimal("14.00"), Decimal("120.00"))
    assert eur.penalties == Decimal("134.00")
    assert eur.amount_including_penalties == Decimal("1848.96")
    assert (usd.interest, usd.indemnity) == (Decimal("0.67"), Decimal("0.00"))
    assert usd.amount_including_penalties == Decimal("2000.67")
    assert basket.penalty_totals(con, basket.EMPTY, AS_OF) == {}

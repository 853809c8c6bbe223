"""Item qualification: the item's status and its history change together.

Workspace: tests/data/echeancier_clients_cp1252.csv (case 01); C00012 holds
FA-2026-0041, FA-2026-0077 and the credit note AV-2026-0003.
"""

from __future__ import annotations

import datetime as dt

import pytest

from dunning import importing, penalties, qualification
from dunning.errors import InvalidValue, NotFound


@pytest.fixture
def c12(con, data_file):
    importing.import_file(
        con, data_file("echeancier_clients_cp1252.csv"), importing.Options()
    )
    return con


def ids(con, *docs):
    return penalties.item_ids(con, "C00012", docs)


def item(con, item_id):
    cursor = con.execute(
        "SELECT status, status_date, status_comment, status_author, promise_date "
        "FROM items WHERE item_id = ?",
        [item_id],
    )
    return cursor.fetchone()


def test_promise_to_pay_on_several_items_writes_each_and_its_history(c12):
    chosen = ids(c12, "FA-2026-0041", "FA-2026-0077")
    count = qualification.qualify(
        c12,
        chosen,
        "promised",
        "2026-02-15",
        "Called: pays on the 28th",
        "claire",
        promise_date="2026-02-28",
    )
    assert count == 2
    for item_id in chosen:
        assert item(c12, item_id) == (
            "promised",
            dt.date(2026, 2, 15),
            "Called: pays on the 28th",
            "claire",
            dt.date(2026, 2, 28),
        )
        [event] = qualification.history(c12, item_id)
        assert (event["status"], event["promise_date"], event["author"]) == (
            "promised",
            dt.date(2026, 2, 28),
            "claire",
        )
    # The credit note was not chosen and keeps its status.
    assert item(c12, ids(c12, "AV-2026-0003")[0])[0] == "open"


def test_promise_needs_a_date_on_or_after_the_day_it_was_given(c12):
    chosen = ids(c12, "FA-2026-0041")
    with pytest.raises(InvalidValue, match="promised to pay by"):
        qualification.qualify(c12, chosen, "promised", "2026-02-15")
    with pytest.raises(InvalidValue, match="before the day"):
        qualification.qualify(
            c12, chosen, "promised", "2026-02-15", promise_date="2026-02-01"
        )
    assert item(c12, chosen[0])[0] == "open"
    assert qualification.history(c12, chosen[0]) == []


def test_dispute_then_resolved_history_newest_first(c12, monkeypatch):
    monkeypatch.setenv("DUNNING_USER", "marc")
    [item_id] = ids(c12, "FA-2026-0041")
    with pytest.raises(InvalidValue, match="not disputed: FA-2026-0041"):
        qualification.qualify(c12, [item_id], "dispute_resolved")
    qualification.qualify(c12, [item_id], "disputed", "2026-02-10", "Wrong price")
    qualification.qualify(c12, [item_id], "dispute_resolved", "2026-02-14", "Credit")
    history = qualification.history(c12, item_id)
    assert [(e["status"], e["author"]) for e in history] == [
        ("dispute_resolved", "marc"),
        ("disputed", "marc"),
    ]
    assert item(c12, item_id)[:4] == (
        "dispute_resolved",
        dt.date(2026, 2, 14),
        "Credit",
        "marc",
    )


@pytest.mark.parametrize("status", ["litigation", "ignored", "open"])
def test_other_statuses_clear_the_promise_date(c12, status):
    [item_id] = ids(c12, "FA-2026-0077")
    qualification.qualify(c12, [item_id], "promised", promise_date="2026-03-01")
    qualification.qualify(c12, [item_id], status, comment="  ")
    assert item(c12, item_id)[0] == status
    assert item(c12, item_id)[4] is None
    assert item(c12, item_id)[2] is None  # a blank comment is no comment
    assert item(c12, item_id)[1] == dt.date(2026, 2, 15)  # today by default


def test_unknown_status_or_item_changes_nothing(c12):
    chosen = ids(c12, "FA-2026-0041")
    with pytest.raises(InvalidValue, match="use one of"):
        qualification.qualify(c12, chosen, "lost")
    with pytest.raises(NotFound):
        qualification.qualify(c12, [*chosen, 999_999], "disputed")
    with pytest.raises(InvalidValue, match="at least one"):
        qualification.qualify(c12, [], "disputed")
    assert item(c12, chosen[0])[0] == "open"
    count = c12.execute("SELECT count(*) FROM item_events").fetchone()[0]
    assert count == 0

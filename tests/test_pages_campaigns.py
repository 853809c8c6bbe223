"""The Campaigns page, driven through app.py with AppTest on a real workspace file.

The workspace is test_pages' five items at 2026-02-15 (see its docstring): C00012
owes FA-2026-0041 1 234.56 and FA-2026-0077 12 500.00, and holds the credit note
AV-2026-0003 -250.00; C00027 owes 480.40 on FA-2025-1198; C00031's FA-2026-0102
2 045.10 is not due. "At least one day late" keeps C00012's two invoices and
C00027's one.
"""

from __future__ import annotations

import time

from test_pages import (
    app,
    fresh_caches,
    navigation_only,
    spaced,
    workspace,
    workspace_file,
)

from dunning import campaigns, search, store

PAGE = "pages/campaigns.py"


def campaigns_page(**session):
    at = app()
    for key, value in session.items():
        at.session_state[key] = value
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception
    return at


def button(at, label: str):
    return next(b for b in at.button if b.label == label)


def late_items() -> str:
    return search.to_json(search.Filters(min_days_late=1))


def test_the_page_renders_the_customers_grouped(workspace):
    # Started from the Search page's filters, found in the session.
    at = campaigns_page(search_filters=late_items())
    assert not at.error
    table = at.dataframe[0].value
    assert list(table["Customer"]) == ["C00012", "C00027"]
    c00012 = table.iloc[0]
    assert (c00012["Currency"], c00012["Items"]) == ("EUR", 2)
    # 1 234.56 + 12 500.00 = 13 734.56
    assert spaced(c00012["Amount"]) == "13 734,56 €"
    assert list(table["Status"]) == ["Chased", "Chased"]
    assert button(at, "Create 2 actions")


def test_a_minimum_amount_leaves_a_customer_below_it(workspace):
    at = campaigns_page(search_filters=late_items())
    at.text_input(key="campaign_minimum").input("1000").run()
    table = at.dataframe[0].value
    # C00027 owes 480.40 < 1 000
    assert list(table["Status"]) == ["Chased", "Below minimum"]
    assert button(at, "Create 1 actions")


def test_an_email_campaign_lists_the_customers_without_email(workspace):
    at = campaigns_page(search_filters=late_items())
    at.selectbox(key="campaign_type").select("email").run()
    assert not at.exception
    box = " ".join(w.value for w in at.warning)
    assert "2 customer(s) have no usable email address" in box
    assert "C00012" in box and "C00027" in box


def carried_out_message(at, seconds: float = 60) -> str:
    """Rerun until the carrying-out thread has reported (the page polls it)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = [s.value for s in at.success if "carried out" in s.value]
        if found:
            return found[0]
        time.sleep(0.2)
        at.run()
        assert not at.exception
    raise AssertionError("the campaign was not carried out in time")


def test_creating_the_campaign_creates_its_actions(workspace):
    at = campaigns_page(search_filters=late_items())
    at.text_input(key="campaign_name").input("Relance février").run()
    button(at, "Create 2 actions").click().run()
    assert not at.exception and not at.error
    assert any("created with 2 actions" in s.value for s in at.success)

    # Carried out on a thread of its own: two letters, and the campaign listed.
    at.button(key="campaign_carry_new").click().run()
    assert not at.exception and not at.error
    assert carried_out_message(at) == "2 action(s) carried out."
    assert sorted(p.suffix for p in (workspace.parent / "exports").iterdir()) == [
        ".pdf",
        ".pdf",
    ]

    con = store.connect(workspace)
    try:
        listed = campaigns.listing(con)
        assert [(c["name"], c["actions"]) for c in listed] == [("Relance février", 2)]
        shown = campaigns.show(con, listed[0]["campaign_id"])
        assert [a["customer_number"] for a in shown["actions"]] == ["C00012", "C00027"]
        assert shown["statuses"] == {"done": 2}
    finally:
        con.close()

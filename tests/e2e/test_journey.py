"""The main journey of DESIGN 2 in Chromium, against `streamlit run app.py` on a fresh
workspace and a real SMTP server on 127.0.0.1.

Today is fixed at 2026-02-15 for the server. The ledger is case 01's five items:
  C00012  FA-2026-0041  1234.56 due 2026-01-31 (15 days late)
          FA-2026-0077 12500.00 due 2026-02-14 (1 day late)
          AV-2026-0003  -250.00 (credit note)
  C00027  FA-2025-1198   480.40 open, due 2025-12-28 (49 days late)
  C00031  FA-2026-0102  2045.10 due 2026-03-05 (not due)
The two invoices of C00012 selected: 1234.56 + 12500.00 = 13 734,56 €.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import no_exception, screenshot, settle
from playwright.sync_api import TimeoutError as TimeoutError_

DATA = Path(__file__).resolve().parents[1] / "data"
TODAY = "2026-02-15"


@pytest.fixture
def server_env(smtp_server) -> dict[str, str]:
    return {"DUNNING_TODAY": TODAY, **smtp_server.env()}


def sidebar_text(page) -> str:
    return page.locator('[data-testid="stSidebar"]').inner_text()


def main_text(page) -> str:
    """The screen's text, with Babel's no-break spaces as plain ones."""
    text = page.locator('[data-testid="stMain"]').inner_text()
    return text.replace("\u202f", " ").replace("\xa0", " ")


def metric(page, label: str) -> str:
    """The value of the metric with this label."""
    found = page.locator('[data-testid="stMetric"]', has_text=label).first
    return found.inner_text().splitlines()[-1].replace("\u202f", " ").strip()


def go(page, title: str) -> None:
    """Open a screen from the sidebar, keeping the session (and its basket)."""
    nav = page.locator('[data-testid="stSidebarNav"]')
    nav.get_by_role("link", name=title, exact=True).click()
    settle(page)
    no_exception(page)


def click(page, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).first.click()
    settle(page)
    no_exception(page)


def choose(page, label: str, option: str) -> None:
    """Pick an option of a Streamlit selectbox by its label (a rerun that lands
    while the list is open closes it: open it again)."""
    box = page.get_by_label(label, exact=True)
    wanted = page.get_by_role("option", name=option).first
    for attempt in range(3):
        box.click()
        try:
            wanted.click(timeout=10_000)
            break
        except TimeoutError_:
            if attempt == 2:
                raise
            page.keyboard.press("Escape")
            settle(page)
    settle(page)


def tick_row(page, table: int, row: int) -> None:
    """Tick a row of the table-th grid on the screen (its row-marker column)."""
    grid = page.locator('[data-testid="stDataFrame"]').nth(table)
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    header = row_height = 35
    grid.click(position={"x": 18, "y": header + row * row_height + row_height / 2})
    settle(page)
    assert box is not None


def upload(page, path: Path) -> None:
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        str(path)
    )
    settle(page)
    no_exception(page)


def import_file(page, path: Path, rows: int) -> None:
    go(page, "Import")
    upload(page, path)
    click(page, f"Load {rows} valid rows")
    assert "loaded" in main_text(page).lower()


def test_the_main_journey(page, server, smtp_server):
    # 1. The app opens on the demo workspace, labelled as such.
    page.goto(server.url)
    settle(page)
    no_exception(page)
    assert "DEMO WORKSPACE" in sidebar_text(page)
    screenshot(page, "accounts")

    # 2. Import a ledger (it replaces the demo) and its contacts.
    import_file(page, DATA / "echeancier_clients_cp1252.csv", 5)
    import_file(page, DATA / "e2e_contacts.csv", 3)
    go(page, "Accounts")
    # 1234.56 + 12500.00 - 250.00 + 480.40 + 2045.10
    assert "16 010,06 €" in main_text(page)
    assert "DEMO WORKSPACE" not in sidebar_text(page)

    # 3. Search the customer's invoices and select every match.
    go(page, "Search")
    page.get_by_label("Customer number or name", exact=True).fill("C00012")
    click(page, "Search")
    # Two invoices and the credit note of C00012.
    assert metric(page, "Matching items") == "3"
    click(page, "Select all matches")
    assert metric(page, "In basket") == "3"
    screenshot(page, "search")

    # 4. Open the customer record: the same basket, the selection's penalties.
    go(page, "Customer record")
    choose(page, "Customer", "C00012 — Boulangerie Lefèvre & Fils")
    assert metric(page, "In basket") == "3"
    text = main_text(page)
    # 1234.56 + 12500.00 - 250.00 = 13 484,56 €; interest 1234.56 x 12.15 % x
    # 15 / 365 = 6.16 and 12500.00 x 12.15 % x 1 / 365 = 4.16, two indemnities of
    # 40.00: penalties 90.32; with the items 13 574,88 €.
    assert "13 484,56 €" in text
    assert "90,32 €" in text
    screenshot(page, "customer")

    # 5. Compose a specific action from a template, with its hashtags.
    click(page, "New action (outside the dunning scenario)")
    click(page, "Specific action")
    page.get_by_text("Start from a template, an earlier action or blank").click()
    choose(page, "Template", "Première relance (relance-1-fr) · email · fr")
    click(page, "Use this content")
    text = main_text(page)
    # The preview: the dunning contact, the statement and the real amounts.
    assert "Julie Lefèvre" in text
    assert "FA-2026-0077" in text
    assert "13 484,56 €" in text
    assert "#items" not in text.split("Preview", 1)[1]
    screenshot(page, "composer")

    # 6. Validate, then carry it out: one message reaches the SMTP server.
    click(page, "Validate")
    click(page, "Carry out now")
    assert len(smtp_server.received) == 1
    received = smtp_server.received[0]
    assert received.rcpt_tos == ["julie.lefevre@boulangerie-lefevre.example"]
    body = received.message.get_body(("plain",)).get_content()
    assert "13 484,56 €" in body.replace("\u202f", " ").replace("\xa0", " ")

    # 7. One click shows what the action claimed, then and now.
    go(page, "Actions")
    tick_row(page, 0, 0)
    text = main_text(page)
    assert "Action #1" in text
    assert "Items, at the action and at 15/02/2026" in text
    screenshot(page, "actions")

    # 8. A campaign over two customers: every invoice at least a day late.
    go(page, "Campaigns")
    page.get_by_text("Which items: the search").click()
    page.get_by_label("Customer number or name", exact=True).fill("")
    choose(page, "Document type", "invoice")
    page.get_by_label("Days late from", exact=True).fill("1")
    click(page, "Search")
    choose(page, "Action type", "Email")
    page.get_by_label("Campaign name", exact=True).fill("Relance février")
    # C00012 (15 and 1 days late) and C00027 (49 days late); C00031 is not due.
    click(page, "Create 2 actions")
    assert "created with 2 actions" in main_text(page)
    click(page, "Carry out now")
    # Carried out on a thread of its own; the page follows it and reports.
    page.get_by_text("2 action(s) carried out").wait_for()
    screenshot(page, "campaigns")
    campaign = sorted(r for m in smtp_server.received[1:] for r in m.rcpt_tos)
    assert campaign == [
        "julie.lefevre@boulangerie-lefevre.example",
        "marc.roux@sger.example",
    ]

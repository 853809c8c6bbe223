"""Every page of the app opens in Chromium on a fresh workspace without an exception."""

from __future__ import annotations

import pytest
from conftest import no_exception, screenshot, settle

# url path of each page (Streamlit names it after the file), and a text it shows.
PAGES = [
    ("", "Accounts"),
    ("dashboard", "Aging balance"),
    ("customer", "Customer"),
    ("search", "Selection basket"),
    ("campaigns", "Campaigns"),
    ("templates", "Preview"),
    ("actions", "Actions"),
    ("import_file", "Import"),
    ("settings", "Email (SMTP)"),
]


def test_the_app_opens_on_the_labelled_demo(page, demo_server):
    page.goto(demo_server.url)
    settle(page)
    no_exception(page)
    sidebar = page.locator('[data-testid="stSidebar"]')
    assert "DEMO WORKSPACE" in sidebar.inner_text()
    screenshot(page, "accounts")


@pytest.mark.parametrize(("path", "text"), PAGES)
def test_each_page_renders(page, demo_server, path, text):
    page.goto(demo_server.url)
    settle(page)
    page.goto(f"{demo_server.url}/{path}")
    settle(page)
    no_exception(page)
    assert text in page.locator('[data-testid="stMain"]').inner_text()

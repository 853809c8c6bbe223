"""A bookmark opened on a server no browser has asked anything yet shows its screen
inside the app: app.py's sidebar and navigation, not the files of pages/ one by one
(Streamlit's folder-based mode, see pages/__init__.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import ROOT, no_exception, settle

HELPERS = {"app", "common", "composer"}  # files Streamlit's folder mode would list


def _page_constants() -> dict[str, str]:
    """The PAGE_* file names of pages/common.py, read without importing the app."""
    tree = ast.parse((ROOT / "pages" / "common.py").read_text())
    return {
        node.targets[0].id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and node.targets[0].id.startswith("PAGE_")
        and isinstance(node.value, ast.Constant)
    }


def navigation() -> list[tuple[str, str]]:
    """(address, title) of every st.Page of app.py's navigation, in its order."""
    constants = _page_constants()
    screens = []
    for node in ast.walk(ast.parse((ROOT / "app.py").read_text())):
        if not (isinstance(node, ast.Call) and ast.unparse(node.func) == "st.Page"):
            continue
        source = node.args[0]
        path = constants[source.attr] if isinstance(source, ast.Attribute) else ""
        path = path or ast.literal_eval(source)
        options = {
            keyword.arg: ast.literal_eval(keyword.value)
            for keyword in node.keywords
            if keyword.arg in ("title", "default", "url_path")
        }
        # The default screen lives at the root; the others at their file's name.
        default = options.get("default", False)
        address = "" if default else options.get("url_path", Path(path).stem)
        screens.append((address, options["title"]))
    return screens


SCREENS = navigation()


@pytest.mark.parametrize(
    ("address", "title"), SCREENS, ids=[address or "root" for address, _ in SCREENS]
)
def test_a_first_request_opens_the_screen_inside_the_app(
    page, fresh_server, address, title
):
    page.goto(f"{fresh_server.url}/{address}")
    settle(page)
    no_exception(page)

    # app.py ran: its sidebar, with the demo label and the as-of date.
    sidebar = page.locator('[data-testid="stSidebar"]')
    assert "DEMO WORKSPACE" in sidebar.inner_text()
    assert "As-of date" in sidebar.inner_text()

    # Its navigation, and none of the helper modules, with this screen current.
    more = page.locator('[data-testid="stSidebarNavViewButton"]')
    if more.count() and "more" in more.inner_text().lower():
        more.click()
    links = page.locator('[data-testid="stSidebarNavLink"]').all_inner_texts()
    assert [link.strip() for link in links] == [name for _, name in SCREENS]
    assert not HELPERS & {link.strip().lower() for link in links}
    current = page.locator('[data-testid="stSidebarNavLink"][aria-current="page"]')
    assert current.inner_text().strip() == title
    assert page.url == f"{fresh_server.url}/{address}"

"""The Streamlit entry point: page navigation, the shared sidebar and the workspace."""

from __future__ import annotations

import streamlit as st

from dunning import clock, store
from dunning.errors import DunningError, WorkspaceError
from pages import common

# The as-of date written the way the workspace's language writes dates.
DATE_INPUT_FORMATS = {"fr": "DD/MM/YYYY", "en": "YYYY-MM-DD"}

try:
    from dunning import demo
except ImportError:
    demo = None


@st.cache_resource(show_spinner=False)
def _demo_built(path: str) -> bool:
    """Build the demo once per empty workspace file, whatever the sessions."""
    with common.connection().cursor() as con:
        if not store.is_empty(con):
            return False
        demo.build(con)
    return True


def ensure_demo(con) -> None:
    """Give a newcomer real screens: an empty workspace becomes the demo one."""
    if not store.is_empty(con):
        return
    if demo is None:
        st.info(
            "The workspace is empty and the demo builder is not installed. "
            "Import a ledger on the **Import** page to get started."
        )
        return
    with st.spinner("Building the demo workspace…"):
        _demo_built(common.workspace_path())
    common.data_changed()


def sidebar(con) -> None:
    """The workspace file, the demo label and the as-of date, on every page."""
    with st.sidebar:
        if store.get_setting(con, "workspace.demo"):
            st.warning(
                "**DEMO WORKSPACE** — generated sample data. Importing a ledger of "
                "your own on the **Import** page replaces it."
            )
        language = store.get_setting(con, "defaults.language") or "fr"
        # The chosen date is also kept under a plain key: Streamlit drops a widget's
        # state on the run that follows st.switch_page, and the next page must still
        # compute at the date the user chose.
        st.date_input(
            "As-of date",
            value=st.session_state.get(common.AS_OF_CHOSEN, clock.today()),
            key="as_of",
            on_change=common.remember_as_of,
            format=DATE_INPUT_FORMATS.get(language, "YYYY-MM-DD"),
            help="Days late, aging and open items are computed at this date.",
        )
        st.caption(f"Workspace: `{common.workspace_path()}`")


st.set_page_config(layout="wide", page_title="Dunning workspace")
# Calling st.navigation ends Streamlit's folder-based mode for pages/; until then a
# first request to a screen's address would run that file alone (pages/__init__.py).
page = st.navigation(
    [
        st.Page(common.PAGE_ACCOUNTS, title="Accounts", default=True),
        st.Page(common.PAGE_DASHBOARD, title="Dashboard"),
        st.Page(common.PAGE_CUSTOMER, title="Customer record"),
        st.Page(common.PAGE_SEARCH, title="Search"),
        st.Page(common.PAGE_CAMPAIGNS, title="Campaigns"),
        st.Page(common.PAGE_TEMPLATES, title="Templates"),
        st.Page(common.PAGE_ACTIONS, title="Actions"),
        st.Page(common.PAGE_IMPORT, title="Import"),
        st.Page(common.PAGE_SETTINGS, title="Settings"),
    ]
)

try:
    cursor = common.cursor()
except WorkspaceError as error:
    st.error(f"**{error.title}.** {error}")
    st.stop()

try:
    ensure_demo(cursor)
    sidebar(cursor)
except DunningError as error:
    common.show_error(error)
page.run()

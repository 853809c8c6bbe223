"""The app's screens, one file each, routed by app.py's `st.navigation`.

Importing this package, which every screen does through `pages.common`, makes a
first request straight to a screen's address run app.py like any other request.
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

# Streamlit 1.67 decides once per process, when the first session starts, that an
# app with a folder named pages/ beside its entry script is an old folder-based
# multipage app (runtime/pages_manager.py); only a call to st.navigation undoes it
# (commands/navigation.py). Until app.py has run once, a first request to
# /search therefore runs pages/search.py alone, without app.py's sidebar and with
# every file of this folder listed as a page. A screen imports this package before
# it draws anything: drop that mode and start the run again, which runs app.py and
# the screen it routes to.
if PagesManager.uses_pages_directory:
    PagesManager.uses_pages_directory = False
    st.rerun()

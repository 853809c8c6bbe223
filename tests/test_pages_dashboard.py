"""The Dashboard page, driven through app.py with AppTest on a real workspace file."""

from __future__ import annotations

from test_pages import (
    app,
    fresh_caches,
    navigation_only,
    workspace,
    workspace_file,
)

PAGE = "pages/dashboard.py"


def test_dashboard_draws_its_charts_without_error(workspace):
    at = app().run()
    at.switch_page(PAGE).run()
    assert not at.exception
    assert not at.error
    titles = [h.value for h in at.subheader]
    assert titles == [
        "Aging balance",
        "Top overdue customers",
        "Overdue over time",
        "Penalties claimed",
        "Actions by month",
    ]
    # Aging, top overdue and trend have data; no action has claimed a penalty yet.
    charts = at.get("plotly_chart")
    assert len(charts) == 3
    notes = [i.value for i in at.info]
    assert any("No penalty in EUR" in note for note in notes)
    assert any("No action yet" in note for note in notes)


def test_dashboard_scope_narrows_the_charts(workspace):
    at = app().run()
    at.switch_page(PAGE).run()
    # The five-item ledger has no segments: nothing to choose, every chart stays.
    assert at.multiselect[0].options == []
    assert at.selectbox[0].value == "EUR"

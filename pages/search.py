"""Search: open items of every customer filtered, sorted in SQL, ticked into the
basket, exported, and searches saved by name."""

from __future__ import annotations

import functools

import pandas as pd
import streamlit as st

from dunning import exporting, formatting, search
from dunning.errors import DunningError
from pages import common

PREFIX = "search"
COLUMNS = {
    "customer_number": st.column_config.TextColumn("Customer", pinned=True),
    "customer_name": st.column_config.TextColumn("Name", width="medium"),
    "doc_number": st.column_config.TextColumn("Document"),
    "due_date": None,  # written in the workspace language: see column_config()
    "days_late": st.column_config.NumberColumn("Days late", format="%d"),
    "open_amount": common.money_column("Open amount"),
    "bucket": st.column_config.TextColumn("Aging bucket"),
    "status": st.column_config.TextColumn("Status"),
    "doc_type": st.column_config.TextColumn("Type"),
    "amount": common.money_column("Amount"),
    "issue_date": None,
    "reference": st.column_config.TextColumn("Reference", width="medium"),
    "segment": st.column_config.TextColumn("Segment"),
    "account_manager": st.column_config.TextColumn("Account manager"),
}
ROW_HEIGHT = 35
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def main() -> None:
    path, as_of, language = common.workspace_path(), common.as_of(), common.language()
    st.title("Search")
    st.caption(
        f"Open items of every customer at {formatting.date(as_of, language)}: "
        "filter them, tick the ones to chase into the basket, export the matches."
    )
    saved_searches()

    # The filters, what they mean in words, then the basket above the results.
    filters = common.search_form(PREFIX, common.account_choices(path))
    st.markdown(f"**Active filters:** {common.markdown_text(search.describe(filters))}")
    panel = st.container()

    # Every match counted and totalled, one page of rows ticked into the basket.
    result, offset = common.search_page_of_rows(PREFIX, path, as_of, filters)
    common.show_matches(result, offset, language, "items")
    if result.rows:
        common.basket_table(
            PREFIX,
            display_frame(result.rows, language),
            result.rows,
            column_order=list(COLUMNS),
            column_config=column_config(language),
            height=ROW_HEIGHT * (min(len(result.rows), 15) + 1) + 3,
        )
        common.page_offset(result.count, f"{PREFIX}_page", "items")
        export_buttons(filters, as_of, result.count)
    else:
        st.info(
            "No open item matches these filters. Widen them, or choose another "
            "as-of date in the sidebar."
        )
    with panel:
        common.basket_panel(PREFIX, path, as_of, language)


def display_frame(rows: list[dict], language: str) -> pd.DataFrame:
    """The page of rows as the table shows it: amounts written as text."""
    frame = pd.DataFrame(rows)
    for column in ("open_amount", "amount"):
        frame[column] = [
            common.money_cell(row[column], row["currency"], language) for row in rows
        ]
    frame["days_late"] = frame["days_late"].astype("Int64")
    frame["bucket"] = frame["bucket"].map(common.BUCKET_LABELS)
    frame["doc_type"] = frame["doc_type"].map(
        lambda kind: common.DOC_TYPE_LABELS.get(kind, kind)
    )
    return frame[list(COLUMNS)]


def column_config(language: str) -> dict:
    config = dict(COLUMNS)
    config["due_date"] = common.date_column("Due date", language)
    config["issue_date"] = common.date_column("Issue date", language)
    return config


def export_buttons(filters: search.Filters, as_of, count: int) -> None:
    """Every match (not only this page) to CSV or XLSX, written when clicked."""
    sort, descending = common.sort_of(PREFIX)
    con = common.connection()
    too_many = count >= exporting.XLSX_MAX_ROWS
    with st.container(horizontal=True):
        for suffix, label, mime in (
            (".csv", "Export matches to CSV", "text/csv"),
            (".xlsx", "Export matches to XLSX", XLSX_MIME),
        ):
            st.download_button(
                label,
                # Written on the click, on a thread of its own (with its own cursor).
                data=functools.partial(
                    exporting.search_file, con, filters, as_of, suffix, sort, descending
                ),
                file_name=f"search_{as_of:%Y-%m-%d}{suffix}",
                mime=mime,
                on_click="ignore",
                disabled=suffix == ".xlsx" and too_many,
                help=(
                    f"{count:,} items do not fit in one XLSX sheet: export to CSV."
                    if suffix == ".xlsx" and too_many
                    else f"All {count:,} matching items, in the order shown."
                ),
            )


# ---------------------------------------------------------------------------
# Saved searches


def saved_searches() -> None:
    """Pick a saved search to run it again or delete it; save the applied one."""
    with common.cursor() as con:
        saved = {entry.name: entry.description for entry in search.saved(con)}
    with st.expander("Saved searches", expanded=bool(saved)):
        common.show_flash("search_saved")
        with st.container(horizontal=True, vertical_alignment="bottom"):
            st.selectbox(
                "Saved search",
                list(saved),
                index=None,
                format_func=lambda name: f"{name} — {saved[name]}",
                placeholder="Choose a saved search…" if saved else "None saved yet",
                key="search_saved_pick",
                disabled=not saved,
                width=420,
            )
            st.button("Run", on_click=_run_saved, disabled=not saved)
            st.button("Delete", on_click=_delete_saved, disabled=not saved)
        with st.container(horizontal=True, vertical_alignment="bottom"):
            st.text_input(
                "Save the applied filters as",
                key="search_save_name",
                placeholder="Over 45 days, above 1000",
                max_chars=search.NAME_MAX_LENGTH,
                width=420,
            )
            st.button("Save search", on_click=_save)


def _save() -> None:
    name = st.session_state.get("search_save_name", "")
    try:
        with common.cursor() as con:
            entry = search.save(con, name, common.applied_filters(PREFIX))
    except DunningError as error:
        common.flash("search_saved", error)
        return
    st.session_state["search_save_name"] = ""
    common.flash("search_saved", f"Saved “{entry.name}”.", "success")


def _run_saved() -> None:
    name = st.session_state.get("search_saved_pick")
    if name is None:
        common.flash("search_saved", "Choose a saved search to run.", "warning")
        return
    try:
        with common.cursor() as con:
            filters = search.load(con, name)
    except DunningError as error:
        common.flash("search_saved", error)
        return
    common.apply_filters(PREFIX, filters)
    common.flash("search_saved", f"Ran “{name}”.", "success")


def _delete_saved() -> None:
    name = st.session_state.get("search_saved_pick")
    if name is None:
        common.flash("search_saved", "Choose a saved search to delete.", "warning")
        return
    try:
        with common.cursor() as con:
            search.delete(con, name)
    except DunningError as error:
        common.flash("search_saved", error)
        return
    st.session_state["search_saved_pick"] = None
    common.flash("search_saved", f"Deleted “{name}”.", "success")


try:
    main()
except DunningError as error:
    common.show_error(error)

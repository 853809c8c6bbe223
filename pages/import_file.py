"""Import: upload a ledger, customers or contacts file, check the preview, load it."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from dunning import columns, importing, parsing, sources
from dunning.errors import AlreadyImported, AmbiguousDateOrder, DunningError
from pages import common

UPLOAD_FOLDER = Path(tempfile.gettempdir()) / "dunning-uploads"
NO_COLUMN = "—"
AUTO = "auto"
DETECTED_MAPPING = "(detected from the column names)"
ENCODINGS = [AUTO, "utf-8", "cp1252", "iso-8859-15", "latin-1"]
DELIMITERS = {AUTO: None, "; (semicolon)": ";", ", (comma)": ",", "tab": "\t", "|": "|"}
DATE_ORDERS = {"dmy": "day/month/year", "mdy": "month/day/year"}
SETTING_LABELS = {
    "encoding": "Encoding",
    "delimiter": "Delimiter",
    "header_line": "Header line",
}
PROBLEM_ROWS = 500
HISTORY_COLUMNS = [
    "import_id",
    "file_name",
    "rows_loaded",
    "rows_rejected",
    "finished_at",
    "kind",
    "mode",
    "rows_read",
    "format",
]
# Reading options keep this width (pixels) and wrap onto more rows when narrow.
OPTION_WIDTH = 160
MONEY_FIELDS = {"amount", "open_amount"}
DATE_FIELDS = {"issue_date", "due_date", "paid_date"}


def main() -> None:
    st.title("Import a file")
    show_last_result()

    # The file, kept on disk under its own name while the user checks it.
    upload = st.file_uploader(
        "Ledger (items), customers or contacts file: CSV, TXT, FEC, Excel, Parquet",
        type=["csv", "txt", "xlsx", "parquet"],
        key=f"import_upload_{st.session_state.get('import_nonce', 0)}",
    )
    if upload is None:
        if "import_state" in st.session_state:
            _forget_file()
        show_history()
        return
    state = file_state(upload.file_id)
    path = saved_upload(upload)

    # How to read it, then a full dry run of the import.
    options = read_options(state, upload.name)
    report = preview(path, options, state)
    if report is not None:
        show_report(report)
        mapping_editor(state, report.kind, report.columns, report.mapping, report)
        import_controls(path, options, report, state)
    show_history()


def file_state(file_id: str) -> dict:
    """What the page remembers about the uploaded file; reset for a new file."""
    state = st.session_state.get("import_state")
    if not state or state["file_id"] != file_id:
        state = {
            "file_id": file_id,
            "mapping": None,
            "needs_date_order": False,
            "already": None,
            "preview_key": None,
            "report": None,
        }
        st.session_state["import_state"] = state
    return state


def saved_upload(upload) -> Path:
    """The uploaded bytes in a temporary file bearing the uploaded file's name."""
    folder = UPLOAD_FOLDER / upload.file_id
    target = folder / (Path(upload.name).name or "upload")
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        target.write_bytes(upload.getbuffer())
    return target


def read_options(state: dict, file_name: str) -> importing.Options:
    """Kind, format, mode and reading settings chosen above the preview."""
    with st.container(horizontal=True, vertical_alignment="bottom"):
        chosen_kind = st.selectbox(
            "Kind of file",
            [AUTO, *columns.KINDS],
            key="import_kind",
            on_change=_reset,
            width=OPTION_WIDTH,
        )
        chosen_fmt = st.selectbox(
            "Format", sources.FORMATS, key="import_fmt", width=OPTION_WIDTH
        )
        chosen_mode = st.selectbox(
            "Mode",
            importing.MODES,
            key="import_mode",
            help="replace: the file is a snapshot of the open items of the customers "
            "it covers; items missing from it are closed. append: items are added.",
            width=OPTION_WIDTH,
        )
        chosen_encoding = st.selectbox(
            "Encoding", ENCODINGS, key="import_encoding", width=OPTION_WIDTH
        )
        chosen_delimiter = st.selectbox(
            "Delimiter", list(DELIMITERS), key="import_delimiter", width=OPTION_WIDTH
        )
        saved_name = st.selectbox(
            "Saved mapping",
            [DETECTED_MAPPING, *columns.saved_names(common.cursor())],
            key="import_saved_mapping",
            on_change=_reset,
            width=2 * OPTION_WIDTH,
        )
        payment_terms = st.number_input(
            "Payment terms (days)",
            min_value=0,
            max_value=365,
            value=None,
            step=1,
            key="import_terms",
            help="Derives a due date (issue date + terms) for items without one, "
            "e.g. from a FEC. Empty: the workspace setting, if any.",
            width=OPTION_WIDTH,
        )
        date_order = None
        if state["needs_date_order"]:
            date_order = st.radio(
                "Date order of the ambiguous dates",
                list(DATE_ORDERS),
                index=None,
                format_func=DATE_ORDERS.get,
                horizontal=True,
                key="import_date_order",
            )
    mapping = state["mapping"]
    if mapping is None and saved_name != DETECTED_MAPPING:
        mapping = saved_name
    return importing.Options(
        kind=chosen_kind,
        fmt=chosen_fmt,
        mapping=mapping,
        date_order=date_order,
        payment_terms_days=payment_terms,
        mode=chosen_mode,
        encoding=None if chosen_encoding == AUTO else chosen_encoding,
        delimiter=DELIMITERS[chosen_delimiter],
        file_name=file_name,
    )


def _reset() -> None:
    """A new kind or saved mapping makes the edited mapping obsolete."""
    state = st.session_state.get("import_state")
    if state:
        state["mapping"] = None


def preview(path: Path, options: importing.Options, state: dict):
    """The dry-run report for these options, run again only when they change."""
    key = repr(options)
    if state["preview_key"] == key:
        return state["report"]
    bar = st.progress(0.0, text="Reading and checking the file…")
    try:
        report = importing.preview_file(
            common.cursor(), path, dataclasses.replace(options, progress=bar_of(bar))
        )
    except AmbiguousDateOrder as error:
        bar.empty()
        if not state["needs_date_order"]:
            state["needs_date_order"] = True
            st.rerun()
        st.warning(f"**{error.title}.** {error}")
        return None
    except DunningError as error:
        bar.empty()
        common.show_error(error)
        file_columns = probe_columns(path, options)
        if file_columns:
            st.info("Map the file's columns yourself, then apply the mapping.")
            kind = options.kind if options.kind != AUTO else "items"
            mapping_editor(state, kind, file_columns, state["mapping"] or {}, None)
        return None
    bar.empty()
    state["preview_key"], state["report"] = key, report
    state["already"] = None
    return report


def bar_of(bar):
    """An import progress callback that moves a Streamlit progress bar."""

    def progress(fraction: float, what: str) -> None:
        bar.progress(min(max(float(fraction), 0.0), 1.0), text=what)

    return progress


def probe_columns(path: Path, options: importing.Options) -> list[str]:
    """The file's column names alone, when the import refused to guess a mapping."""
    try:
        if sources.detect_format(path, options.fmt) == "fec":
            return []  # a FEC has a fixed layout: nothing to map by hand
        return importing.file_columns(common.cursor(), path, options)
    except DunningError:
        return []


def show_report(report: importing.Report) -> None:
    """Counts, detected settings, preview rows and problems of the dry run."""
    read, loaded, rejected, warnings = st.columns(4)
    read.metric("Rows read", report.rows_read, border=True)
    loaded.metric("Valid rows", report.rows_loaded, border=True)
    rejected.metric("Rejected rows", report.rows_rejected, border=True)
    warnings.metric("Warnings", len(report.warnings), border=True)

    show_preview(report)
    st.subheader("Detected")
    st.dataframe(
        detected_settings(report),
        column_config={
            "Setting": st.column_config.TextColumn(width="medium"),
            "Value": st.column_config.TextColumn(width="medium"),
        },
        hide_index=True,
        width="content",
    )

    st.subheader("Problems")
    if not report.problems:
        st.caption("No problem found: every row can be loaded.")
        return
    problems = pd.DataFrame(
        [dataclasses.asdict(p) for p in report.problems],
        columns=["line", "severity", "message", "column", "value"],
    )
    if len(problems) > PROBLEM_ROWS:
        st.caption(f"The first {PROBLEM_ROWS} of {len(problems)} problems.")
    st.dataframe(
        problems.head(PROBLEM_ROWS),
        column_config={
            "line": st.column_config.NumberColumn("Line", format="%d"),
            "column": "Column",
            "value": "Value",
            "message": st.column_config.TextColumn("Message", width="large"),
            "severity": "Severity",
        },
        hide_index=True,
        placeholder="",
    )
    st.download_button(
        "Download every problem (CSV)",
        problems.to_csv(index=False).encode("utf-8"),
        file_name=f"{Path(report.file_name).stem}-problems.csv",
        mime="text/csv",
    )


def show_preview(report: importing.Report) -> None:
    """The first rows as they will be stored: amounts and dates as a reader writes
    them; internal columns and the ones the file leaves empty left out."""
    st.subheader(f"Preview ({len(report.preview)} first rows)")
    if not report.preview:
        st.caption("No row can be loaded: see the problems below.")
        return
    frame = pd.DataFrame(report.preview).dropna(axis=1, how="all")
    frame = frame[
        [c for c in frame.columns if c == "line" or c in columns.FIELD_LABELS]
    ]
    currency = common.default_currency()
    config = {"line": st.column_config.NumberColumn("Line", format="%d")}
    for column in frame.columns.drop("line", errors="ignore"):
        label = columns.FIELD_LABELS.get(column, column)
        if column in MONEY_FIELDS:
            frame[column] = [
                common.money_cell(value, row.get("currency") or currency)
                for value, row in zip(frame[column], report.preview, strict=True)
            ]
            config[column] = common.money_column(label)
        elif column in DATE_FIELDS:
            config[column] = common.date_column(label)
        else:
            config[column] = st.column_config.Column(label)
    st.dataframe(frame, column_config=config, hide_index=True, placeholder="")


def detected_settings(report: importing.Report) -> pd.DataFrame:
    """What was detected, in words: kind, format, encoding, decimal marks, orders."""
    rows = [("Kind", report.kind), ("Format", report.format)]
    for key, value in report.detected.items():
        if key.endswith("_decimal_mark"):
            field = key.removesuffix("_decimal_mark")
            label = f"{columns.FIELD_LABELS.get(field, field)}: decimal mark"
        elif key.endswith("_order"):
            field = key.removesuffix("_order")
            label = f"{columns.FIELD_LABELS.get(field, field)}: date order"
            value = _date_order_words(value)
        else:
            label = SETTING_LABELS.get(key, key)
            value = "tab" if value == "\t" else value
        rows.append((label, "" if value is None else str(value)))
    return pd.DataFrame(rows, columns=["Setting", "Value"])


def _date_order_words(order: str | None) -> str | None:
    words = {**DATE_ORDERS, "ymd": "year-month-day"}
    return words.get(order, order) if order in parsing.DATE_ORDERS else order


def mapping_editor(state, kind, file_columns, mapping, report) -> None:
    """One choice of column per field of this kind of file, and a saved name."""
    if report is not None and report.format == "fec":
        st.caption("A FEC has a fixed layout: no mapping to choose.")
        return
    form = f"import_mapping_{state['file_id']}_{kind}"
    title = f"Column mapping ({len(mapping)} fields mapped)"
    with st.expander(title, expanded=report is None), st.form(form):
        choices = [NO_COLUMN, *file_columns]
        grid = st.columns(3)
        edited = {}
        for position, field in enumerate(columns.KIND_FIELDS[kind]):
            current = mapping.get(field)
            edited[field] = grid[position % 3].selectbox(
                columns.FIELD_LABELS.get(field, field),
                choices,
                index=choices.index(current) if current in choices else 0,
            )
        applied = st.form_submit_button("Apply mapping", type="primary")
    if applied:
        state["mapping"] = {f: c for f, c in edited.items() if c != NO_COLUMN}
        st.rerun()


def save_mapping(name: str, kind: str, mapping: dict) -> None:
    """Store the mapping under a name for the next file of the same layout."""
    try:
        columns.save(common.cursor(), name, kind, mapping)
    except DunningError as error:
        common.show_error(error)
        return
    st.success(f"Mapping {name.strip()!r} saved: pick it under Saved mapping.")


def import_controls(path: Path, options, report: importing.Report, state) -> None:
    """Load the valid rows, or cancel; what loading will do is said before."""
    st.subheader("Load")
    if report.rows_rejected:
        st.warning(
            f"{report.rows_rejected} row(s) are rejected (see Problems). Load the "
            f"{report.rows_loaded} valid row(s), or cancel and fix the file."
        )

    # A file seen before, and the demo data that loading clears, need a choice.
    force = keep_demo = False
    already = report.already_imported or state["already"]
    if already:
        st.warning(f"**File already imported.** {already}")
        force = st.checkbox("Import again anyway", key="import_force")
    if report.demo_cleared:
        st.warning(
            "**Loading will replace the demo data:** the demo customers, items, "
            "contacts and imports are removed, and from this import on the "
            "workspace holds your data only."
        )
        keep_demo = st.checkbox(
            "Keep the demo data beside my file",
            key="import_keep_demo",
            help="Your file is added to the demo customers and the workspace stays "
            "a demo one: the next import without this box ticked clears the demo "
            "data, and this file's data with it.",
        )

    if report.format != "fec":
        with st.container(horizontal=True, vertical_alignment="bottom"):
            mapping_name = st.text_input(
                "Mapping name", key="import_mapping_name", width=2 * OPTION_WIDTH
            )
            save_as = st.checkbox("Save the mapping with the import", key="import_save")
            if st.button("Save mapping now"):
                save_mapping(mapping_name, report.kind, report.mapping)
    else:
        mapping_name, save_as = "", False
    with st.container(horizontal=True):
        clicked = st.button(
            f"Load {report.rows_loaded} valid rows",
            type="primary",
            disabled=report.rows_loaded == 0 or bool(already and not force),
            help="Tick 'Import again anyway' first." if already and not force else None,
        )
        st.button("Cancel", on_click=_cancel)
    if clicked:
        name = mapping_name if save_as else ""
        final = dataclasses.replace(
            options,
            mapping=options.mapping or report.mapping,
            kind=report.kind,
            force=force,
            keep_demo=keep_demo,
            load_valid_rows=True,
            save_mapping_as=name.strip() or None,
        )
        run_import(path, final, state)


def run_import(path: Path, options: importing.Options, state: dict) -> None:
    """The real import, in one transaction, with its progress shown as it goes."""
    with st.status(f"Importing {options.file_name}…", expanded=True) as status:
        bar = st.progress(0.0, text="Starting")
        try:
            report = importing.import_file(
                common.cursor(),
                path,
                dataclasses.replace(options, progress=bar_of(bar)),
            )
        except AlreadyImported as error:
            # Seen since the preview: ask for the confirmation the preview asks for.
            state["already"] = str(error)
            status.update(label="Already imported: nothing was changed", state="error")
            st.rerun()
        except DunningError as error:
            status.update(label="Import failed: nothing was changed", state="error")
            common.show_error(error)
            return
        bar.progress(1.0, text="Done")
        status.update(label="Import finished", state="complete")
    common.data_changed()
    st.session_state["import_result"] = summary(report)
    _cancel()
    st.rerun()


def summary(report: importing.Report) -> str:
    """What the import did, in one sentence."""
    parts = [
        f"Import #{report.import_id} of {report.file_name}: "
        f"{report.rows_loaded} row(s) loaded, {report.rows_rejected} rejected"
    ]
    if report.customers_created:
        parts.append(f"{report.customers_created} customer(s) created")
    if report.items_closed:
        parts.append(f"{report.items_closed} item(s) no longer in the ledger closed")
    sentence = ", ".join(parts) + "."
    if report.demo_cleared:
        sentence += " The demo data was cleared: the workspace holds your data only."
    return sentence


def _cancel() -> None:
    """Clear the uploader and forget the file and its dry run."""
    _forget_file()
    st.session_state["import_nonce"] = st.session_state.get("import_nonce", 0) + 1


def _forget_file() -> None:
    state = st.session_state.pop("import_state", None)
    if state:
        shutil.rmtree(UPLOAD_FOLDER / state["file_id"], ignore_errors=True)


def show_last_result() -> None:
    result = st.session_state.pop("import_result", None)
    if result:
        st.success(result)


def show_history() -> None:
    """The latest imports, newest first, what was loaded and refused up front."""
    st.subheader("Past imports")
    history = common.import_history(common.workspace_path())
    if history.empty:
        st.caption(
            "Nothing imported yet: upload a ledger above to load your open items."
        )
        return
    st.dataframe(
        history,
        column_order=HISTORY_COLUMNS,
        column_config={
            "import_id": st.column_config.NumberColumn("Import", format="%d"),
            "file_name": "File",
            "format": "Format",
            "kind": "Kind",
            "mode": "Mode",
            "rows_read": "Read",
            "rows_loaded": "Loaded",
            "rows_rejected": "Rejected",
            "finished_at": st.column_config.DatetimeColumn(
                "Finished at", format="DD/MM/YYYY HH:mm"
            ),
        },
        hide_index=True,
    )


try:
    main()
except DunningError as error:
    common.show_error(error)

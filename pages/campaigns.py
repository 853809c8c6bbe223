"""Campaigns: one search across customers, one template, one action per customer;
created at once, carried out behind a progress bar, listed with their actions.

The draft is `dunning.campaigns.draft`, cached per set of choices; exclusions are
kept as customer numbers and item ids in the session, never as row positions.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd
import streamlit as st

from dunning import actions, campaigns, clock, formatting, letters, search, templates
from dunning.errors import DunningError
from pages import common, jobs

PREFIX = "campaign"
EXCLUDED = "campaign_excluded_customers"
LEFT_OUT = "campaign_left_out_items"
CREATED = "campaign_created"
WITHOUT_EMAIL_LABELS = {
    "exclude": "Leave them out (listed below)",
    "letter": "Send them a letter instead",
}
CHANNEL_OF = {
    "email": "email",
    "letter": "letter",
    "letter_ar": "letter",
    "formal_notice": "letter",
    "sms": "sms",
    "call": "call",
}
LISTED_WITHOUT_EMAIL = 10
# What a campaign chases when the Search page has no filters applied yet: late
# invoices, leaving out the disputed, promised, in litigation or ignored ones.
OVERDUE_INVOICES = search.Filters(
    doc_type=["invoice"], min_days_late=1, status=["open", "dispute_resolved"]
)
ZIP_MIME = "application/zip"


def main() -> None:
    st.title("Campaigns")
    st.caption(
        "One search across customers, one template: a reminder per customer, "
        "created at once and carried out with a progress bar."
    )
    new, stored = st.tabs(["New campaign", "Campaigns"])
    with new:
        new_campaign()
    with stored:
        campaign_list()


def export_dir() -> Path:
    """Where carried-out actions write their files: exports/ beside the workspace."""
    return Path(common.workspace_path()).resolve().parent / "exports"


# ---------------------------------------------------------------------------
# A new campaign


def new_campaign() -> None:
    path, as_of, language = common.workspace_path(), common.as_of(), common.language()

    # Which items: the Search page's filters to start with, in the same form.
    filters = filter_section(path)

    # What is sent, to whom, from what amount.
    choices = campaign_choices()
    try:
        draft = cached_draft(
            path,
            as_of,
            search.to_json(filters),
            choices["template"],
            choices["type"],
            choices["minimum"],
            tuple(sorted(st.session_state.get(EXCLUDED, ()))),
            tuple(sorted(st.session_state.get(LEFT_OUT, ()))),
            choices["without_email"],
        )
    except DunningError as error:
        common.show_error(error)
        return
    for problem in draft.problems:
        st.error(problem)

    # The customers it reaches, those it does not, and why.
    summary(draft, language)
    without_email_box(draft)
    grouped_table(draft, language)
    exclusions(draft, language)
    preview_section(draft)
    create_section(draft)


def filter_section(path: str) -> search.Filters:
    """The search form of the Search page, under this page's own state."""
    searched = st.session_state.get("search_filters")
    if f"{PREFIX}_filters" not in st.session_state:
        common.apply_filters(
            PREFIX, search.from_json(searched) if searched else OVERDUE_INVOICES
        )
    with st.expander("Which items: the search"):
        if searched and searched != st.session_state.get(f"{PREFIX}_filters"):
            st.button(
                "Take the Search page's filters",
                on_click=common.apply_filters,
                args=(PREFIX, search.from_json(searched)),
            )
        filters = common.search_form(PREFIX, common.account_choices(path))
    st.markdown(
        f"**Items of the campaign:** {common.markdown_text(search.describe(filters))}"
    )
    return filters


def campaign_choices() -> dict:
    """Template, action type, minimum amount per customer, customers without email."""
    with common.cursor() as con:
        found = templates.every(con)
    with st.container(horizontal=True, vertical_alignment="bottom"):
        kind = st.selectbox(
            "Action type",
            list(actions.TYPES),
            format_func=actions.TYPE_LABELS.get,
            key=common.kept(f"{PREFIX}_type", "letter"),
            width=260,
        )
        language = common.language()
        channel = CHANNEL_OF[kind]
        found.sort(key=lambda t: (t.channel != channel, t.language != language, t.name))
        names = {t.name: t for t in found}
        first = f"relance-1-{language}"
        template = st.selectbox(
            "Template",
            list(names),
            format_func=lambda n: f"{names[n].label} · {names[n].language}",
            key=common.kept(
                f"{PREFIX}_template", first if first in names else next(iter(names))
            ),
            width=380,
        )
        minimum = st.text_input(
            "Minimum per customer",
            key=common.kept(f"{PREFIX}_minimum", ""),
            placeholder="e.g. 500",
            help="A customer is chased when the amount selected in one of its "
            "currencies reaches it; currencies are never added together.",
            width=200,
        )
    without_email = "exclude"
    if kind == "email":
        without_email = st.radio(
            "Customers without an email address",
            list(WITHOUT_EMAIL_LABELS),
            format_func=WITHOUT_EMAIL_LABELS.get,
            key=common.kept(f"{PREFIX}_without_email", "exclude"),
            horizontal=True,
        )
    return {
        "template": template,
        "type": kind,
        "minimum": minimum.strip() or None,
        "without_email": without_email,
    }


@st.cache_data(show_spinner="Grouping the items by customer…", max_entries=16)
def cached_draft(
    path: str,
    as_of,
    filters: str,
    template: str,
    kind: str,
    minimum: str | None,
    excluded: tuple[str, ...],
    left_out: tuple[int, ...],
    without_email: str,
) -> campaigns.Draft:
    with common.connection().cursor() as con:
        return campaigns.draft(
            con,
            search.from_json(filters),
            as_of,
            template,
            type=kind,
            min_amount=minimum,
            excluded_customers=excluded,
            excluded_items=left_out,
            without_email=without_email,
        )


def summary(draft: campaigns.Draft, language: str) -> None:
    with st.container(horizontal=True, gap="small"):
        for label, status in (
            ("Customers chased", campaigns.CHASED),
            ("Below minimum", campaigns.BELOW_MINIMUM),
            ("Without email, left out", campaigns.NO_EMAIL),
            ("Excluded", campaigns.EXCLUDED),
        ):
            st.metric(label, len(draft.by_status(status)), border=True, width="content")
        for currency, totals in draft.totals.items():
            st.metric(
                f"Claimed {currency}",
                formatting.money(totals.amount_including_penalties, currency, language),
                help="Amount selected plus penalties of the chased customers.",
                border=True,
                width="content",
            )


def without_email_box(draft: campaigns.Draft) -> None:
    """Customers without a usable email address, never skipped silently."""
    missing = draft.without_email_groups
    if not missing:
        return
    instead = draft.without_email == "letter"
    lines = [
        f"- {common.markdown_text(g.customer_number)} "
        f"{common.markdown_text(g.customer_name)}: {common.markdown_text(g.no_email)}"
        for g in missing[:LISTED_WITHOUT_EMAIL]
    ]
    if len(missing) > LISTED_WITHOUT_EMAIL:
        lines.append(
            f"- and {len(missing) - LISTED_WITHOUT_EMAIL} more (status in the table)"
        )
    fate = "they get a letter instead" if instead else "they are left out"
    st.warning(
        f"**{len(missing)} customer(s) have no usable email address:** {fate}.\n"
        + "\n".join(lines)
    )


def grouped_table(draft: campaigns.Draft, language: str) -> None:
    """One row per customer and currency; never more than one page of rows."""
    rows = table_rows(draft, language)
    if not rows:
        st.info("No open item matches these filters: widen them.")
        return
    shown = common.paged(rows, f"{PREFIX}_table_page", "rows")
    st.dataframe(
        pd.DataFrame(shown),
        hide_index=True,
        key=f"{PREFIX}_groups",
        column_config={
            name: common.money_column(name)
            for name in (
                "Amount",
                "Interest",
                "Indemnity",
                "Penalties",
                "Including penalties",
            )
        },
    )


def table_rows(draft: campaigns.Draft, language: str) -> list[dict]:
    """The draft as display rows: amounts written as text, one row per currency."""
    rows = []
    for group in draft.groups:
        common_cells = {
            "Customer": group.customer_number,
            "Name": group.customer_name,
            "Status": campaigns.STATUS_LABELS[group.status],
            "Action": actions.TYPE_LABELS[group.type],
        }
        for currency in sorted({*group.counts, *group.totals}) or [""]:
            figures = group.totals.get(currency)
            rows.append(
                {
                    **common_cells,
                    "Currency": currency,
                    "Items": group.counts.get(currency, 0),
                    **_money_cells(figures, currency, language),
                    "Left out": len(group.left_out),
                    "Reason": group.reason or _indemnity_only(group, currency),
                }
            )
    return rows


def _indemnity_only(group: campaigns.Group, currency: str) -> str:
    """Why a currency row holds no item: the euro indemnities of other invoices."""
    if group.counts.get(currency) or currency not in group.totals:
        return ""
    return "fixed indemnities of late invoices, due in this currency by law"


def _money_cells(figures, currency: str, language: str) -> dict[str, str]:
    if figures is None:
        return dict.fromkeys(
            ("Amount", "Interest", "Indemnity", "Penalties", "Including penalties"),
            "",
        )
    return {
        label: common.money_cell(getattr(figures, name), currency, language)
        for label, name in (
            ("Amount", "amount_selected"),
            ("Interest", "interest"),
            ("Indemnity", "indemnity"),
            ("Penalties", "penalties"),
            ("Including penalties", "amount_including_penalties"),
        )
    }


def exclusions(draft: campaigns.Draft, language: str) -> None:
    """Customers and items taken out, kept as numbers and ids in the session."""
    labels = {g.customer_number: g.customer_name for g in draft.groups}
    with st.expander("Exclude customers or items"):
        chosen = [n for n in st.session_state.get(EXCLUDED, ()) if n in labels]
        st.multiselect(
            "Customers left out of the campaign",
            list(labels),
            default=chosen,
            format_func=lambda n: common.customer_label(n, labels[n]),
            key=f"{PREFIX}_exclude_pick",
            on_change=_excluded_changed,
            placeholder="None",
        )
        with_items = [g for g in draft.groups if g.items or g.left_out]
        if not with_items:
            return
        number = st.selectbox(
            "Items of customer",
            [g.customer_number for g in with_items],
            format_func=lambda n: common.customer_label(n, labels[n]),
            key=f"{PREFIX}_items_of",
        )
        group = draft.group(number)
        options = {
            item.item_id: f"{item.doc_number} — "
            f"{formatting.money(item.open_amount, item.currency, language)}"
            for item in (*group.items, *group.left_out)
        }
        st.multiselect(
            "Items left out of this customer's reminder",
            list(options),
            default=[item.item_id for item in group.left_out],
            format_func=options.get,
            key=f"{PREFIX}_left_out_{number}",
            on_change=_left_out_changed,
            args=(number, tuple(options)),
            placeholder="None",
        )


def _excluded_changed() -> None:
    st.session_state[EXCLUDED] = list(st.session_state[f"{PREFIX}_exclude_pick"])


def _left_out_changed(number: str, item_ids: tuple[int, ...]) -> None:
    picked = set(st.session_state[f"{PREFIX}_left_out_{number}"])
    kept = set(st.session_state.get(LEFT_OUT, ())) - set(item_ids)
    st.session_state[LEFT_OUT] = sorted(kept | picked)


def preview_section(draft: campaigns.Draft) -> None:
    """Any chased customer's reminder, rendered with its real values."""
    chased = {g.customer_number: g.customer_name for g in draft.chased}
    if not chased or draft.problems:
        return
    with st.expander("Preview a customer's reminder"):
        number = st.selectbox(
            "Customer",
            list(chased),
            format_func=lambda n: common.customer_label(n, chased[n]),
            key=f"{PREFIX}_preview_of",
        )
        planned = st.session_state.get(f"{PREFIX}_planned")
        with common.cursor() as con:
            shown = campaigns.preview(con, draft, number, action_date=planned)
        for problem in shown.blocking:
            st.error(problem)
        for warning in shown.warnings:
            st.warning(warning)
        st.markdown(f"**{common.markdown_text(shown.subject)}**")
        with st.container(border=True):
            st.html(f'<div style="overflow-x:auto">{shown.html or "<p></p>"}</div>')


def create_section(draft: campaigns.Draft) -> None:
    """Name and date, then every action at once; then carry them out."""
    chased = len(draft.chased)
    signature = _signature(draft)
    created = st.session_state.get(CREATED)
    if created and created[0] == signature:
        st.success(f"Created as campaign {created[1]}: see it in the Campaigns tab.")
        carry_out_button(created[1], key=f"{PREFIX}_carry_new")
        return
    with st.container(horizontal=True, vertical_alignment="bottom"):
        name = st.text_input(
            "Campaign name",
            key=common.kept(f"{PREFIX}_name", ""),
            placeholder="Relance février",
            max_chars=campaigns.NAME_MAX_LENGTH,
            width=320,
        )
        planned = st.date_input(
            "Planned for",
            value=clock.today(),
            key=f"{PREFIX}_planned",
            format="YYYY-MM-DD",
            width=160,
        )
        mode = st.radio(
            "Mode",
            list(actions.MODES),
            format_func=actions.MODE_LABELS.get,
            key=f"{PREFIX}_mode",
            horizontal=True,
        )
    clicked = st.button(
        f"Create {chased} actions",
        type="primary",
        disabled=not chased or bool(draft.problems),
        key=f"{PREFIX}_create",
    )
    if not clicked:
        return
    bar = st.progress(0.0, text="Creating the actions…")
    try:
        with common.cursor() as con:
            campaign = campaigns.create(
                con,
                draft,
                name,
                planned_for=planned,
                mode=mode,
                progress=_bar(bar, "Creating the actions"),
            )
    except DunningError as error:
        bar.empty()
        common.show_error(error)
        return
    finally:
        common.data_changed()
    st.session_state[CREATED] = (signature, campaign.campaign_id)
    st.success(
        f"Campaign {campaign.campaign_id} “{campaign.name}” created with "
        f"{len(campaign.action_ids)} actions."
    )
    carry_out_button(campaign.campaign_id, key=f"{PREFIX}_carry_new")


def _signature(draft: campaigns.Draft) -> str:
    """What a draft was made of, so that one draft is not created twice."""
    chased = [(g.customer_number, g.item_ids, g.type) for g in draft.chased]
    return repr((search.to_json(draft.filters), draft.as_of, draft.body, chased))


def _bar(bar, what: str):
    def show(done: int, total: int) -> None:
        bar.progress(done / total if total else 1.0, text=f"{what}: {done} of {total}")

    return show


def _job_key(campaign_id: int) -> tuple[str, str, int]:
    return ("campaign", common.workspace_path(), campaign_id)


def start_carry_out(campaign_id: int) -> None:
    """Carry the campaign out on a thread of its own (pages/jobs.py)."""
    out_dir = export_dir()
    connection = common.connection()

    def work(progress):
        with connection.cursor() as cursor:
            return campaigns.carry_out(cursor, campaign_id, out_dir, progress=progress)

    jobs.start(_job_key(campaign_id), work)


def carry_out_button(campaign_id: int, key: str) -> None:
    """Carry out the campaign's planned actions, then follow them on a progress bar."""
    job = jobs.get(_job_key(campaign_id))
    st.button(
        "Carry out now",
        key=key,
        on_click=start_carry_out,
        args=(campaign_id,),
        disabled=job is not None and job.running,
    )
    if job is None:
        return
    if job.running:
        st.fragment(run_every=1.0)(_follow)(campaign_id)
    else:
        _follow(campaign_id)


def _follow(campaign_id: int) -> None:
    """The progress bar while the thread works; its report once it is done."""
    job = jobs.get(_job_key(campaign_id))
    if job is None:
        return
    if job.running:
        share = job.done / job.total if job.total else 0.0
        st.progress(share, text=f"Carrying out: {job.done} of {job.total}")
        return
    if not job.reported:
        # The first run after the thread ended: fresh figures everywhere.
        job.reported = True
        common.data_changed()
        st.rerun(scope="app")
    if job.error:
        common.show_error(DunningError(job.error))
        return
    report = job.result
    st.success(f"{len(report.carried_out)} action(s) carried out.")
    if report.cancelled:
        st.info(f"{len(report.cancelled)} cancelled: their items were settled.")
    if report.failed:
        st.error(
            f"{len(report.failed)} failed (actions "
            f"{', '.join(map(str, report.failed))}): see them on the Actions page, "
            "where they can be retried."
        )


# ---------------------------------------------------------------------------
# Stored campaigns


def campaign_list() -> None:
    language = common.language()
    with common.cursor() as con:
        listed = campaigns.listing(con)
    if not listed:
        st.info("No campaign yet: create one in the first tab.")
        return
    st.dataframe(
        pd.DataFrame(
            {
                "Campaign": [c["campaign_id"] for c in listed],
                "Name": [c["name"] for c in listed],
                "Items": [c["description"] for c in listed],
                "Template": [c["template"] or "written for it" for c in listed],
                "As of": [c["as_of"] for c in listed],
                "Created": [c["created_at"] for c in listed],
                "By": [c["created_by"] for c in listed],
                "Actions": [c["actions"] for c in listed],
                "Statuses": [_statuses(c["statuses"]) for c in listed],
                "Claimed": [_claimed(c["totals"], language) for c in listed],
            }
        ),
        hide_index=True,
        key=f"{PREFIX}_list",
        column_config={
            "Campaign": st.column_config.NumberColumn("Campaign", format="%d"),
            "As of": common.date_column("As of", language),
            "Created": st.column_config.DatetimeColumn(
                "Created", format="DD/MM/YYYY HH:mm"
            ),
            "Claimed": common.money_column("Claimed"),
        },
    )
    names = {c["campaign_id"]: c["name"] for c in listed}
    campaign_id = st.selectbox(
        "Open campaign",
        list(names),
        format_func=lambda i: f"{i} — {names[i]}",
        key=f"{PREFIX}_open",
    )
    campaign_details(campaign_id, language)


def _statuses(counts: dict[str, int]) -> str:
    return ", ".join(
        f"{n} {actions.STATUS_LABELS.get(s, s).lower()}" for s, n in counts.items()
    )


def _claimed(totals: dict, language: str) -> str:
    return " ; ".join(
        formatting.money(t["amount_including_penalties"], currency, language)
        for currency, t in totals.items()
    )


def campaign_details(campaign_id: int, language: str) -> None:
    """A campaign's actions with status and amounts; its batch downloads."""
    with common.cursor() as con:
        shown = campaigns.show(con, campaign_id)
    campaign = shown["campaign"]
    st.markdown(
        f"**{common.markdown_text(campaign.name)}** — "
        f"{common.markdown_text(campaign.description)}, at "
        f"{formatting.date(campaign.as_of, language)}"
    )
    rows = common.paged(shown["actions"], f"{PREFIX}_actions_page", "actions")
    st.dataframe(
        actions_frame(rows, language),
        hide_index=True,
        key=f"{PREFIX}_actions",
        column_config={
            "Action": st.column_config.NumberColumn("Action", format="%d"),
            "Planned for": common.date_column("Planned for", language),
            "Claimed": common.money_column("Claimed"),
        },
    )
    downloads(campaign_id, shown)
    if shown["statuses"].get("planned"):
        carry_out_button(campaign_id, key=f"{PREFIX}_carry_{campaign_id}")


def actions_frame(rows: list[dict], language: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Action": [r["action_id"] for r in rows],
            "Customer": [
                common.customer_label(r["customer_number"], r["customer_name"])
                for r in rows
            ],
            "Type": [actions.TYPE_LABELS[r["type"]] for r in rows],
            "Status": [actions.STATUS_LABELS[r["status"]] for r in rows],
            "Planned for": [r["planned_for"] for r in rows],
            "Claimed": [_claimed(r["totals"], language) for r in rows],
            "File": [Path(r["export_file"] or "").name for r in rows],
            "Error or reason": [r["error"] or r["cancel_reason"] or "" for r in rows],
        }
    )


def downloads(campaign_id: int, shown: dict) -> None:
    """The merged letters and the ZIP, each made when clicked."""
    has_letters = any(
        r["type"] in letters.LETTER_TYPES and r["status"] == "done" and r["export_file"]
        for r in shown["actions"]
    )
    with st.container(horizontal=True):
        st.download_button(
            "Letters merged (PDF)",
            data=functools.partial(_batch, campaigns.letters_pdf, campaign_id),
            file_name=f"campaign-{campaign_id}-letters.pdf",
            mime="application/pdf",
            on_click="ignore",
            disabled=not has_letters,
            help="Every letter carried out, one after the other."
            if has_letters
            else "No letter of this campaign has been carried out yet.",
            key=f"{PREFIX}_pdf_{campaign_id}",
        )
        st.download_button(
            "Everything (ZIP)",
            data=functools.partial(_batch, campaigns.zip_bundle, campaign_id),
            file_name=f"campaign-{campaign_id}.zip",
            mime=ZIP_MIME,
            on_click="ignore",
            help="One PDF or .eml per action carried out, and summary.csv.",
            key=f"{PREFIX}_zip_{campaign_id}",
        )


def _batch(make, campaign_id: int) -> bytes:
    """Made on the click, on a thread of its own: with a cursor of its own."""
    with common.connection().cursor() as con:
        return make(con, campaign_id)


try:
    main()
except DunningError as error:
    common.show_error(error)

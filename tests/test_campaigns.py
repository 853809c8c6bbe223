"""Campaigns: a search across customers grouped, created in one transaction,
carried out once, bundled.

tests/data/campagne_encours.csv and campagne_contacts.csv, at today 2026-02-15;
every customer fr_legal with the indemnity on: ECB 2.15 % on 1 July 2025 and still
on 1 January 2026, so 12.15 % for every late day here; interest = open amount x
12.15 x days / 36 500, rounded half-up per item; 40 EUR per late invoice.

  C00101 Alpha Bureautique (dunning contact)
    FA-101-1 1 000.00 EUR due 2025-12-17, 60 days late: 729 000 / 36 500 = 19.9726
             -> 19.97
    FA-101-2   500.00 EUR due 2026-01-16, 30 days late: 182 250 / 36 500 = 4.9932
             -> 4.99
    FA-101-3   700.00 EUR due 2026-03-01, not due (the search leaves it out)
    EUR: 1 500.00, interest 24.96, indemnity 80.00, penalties 104.96, 1 604.96
  C00102 Beta Transports (billing contact), two currencies
    FA-102-1 300.00 EUR due 2026-01-16, 30 days: 109 350 / 36 500 = 2.9959 -> 3.00
    FA-102-2 800.00 USD due 2026-01-16, 30 days: 291 600 / 36 500 = 7.9890 -> 7.99,
             its 40 EUR indemnity under EUR
    EUR: 300.00, 3.00, 80.00, 83.00, 383.00; USD: 800.00, 7.99, 0.00, 7.99, 807.99
  C00103 Gamma Services
    FA-103-1 250.00 EUR due 2026-02-05, 10 days: 30 375 / 36 500 = 0.8322 -> 0.83
    EUR: 250.00, 0.83, 40.00, 40.83, 290.83
  C00104 Delta Conseil (no contact at all)
    FA-104-1 2 000.00 EUR due 2025-11-17, 90 days (44 in H2 2025, 46 in H1 2026,
             both at 12.15 %): 2 187 000 / 36 500 = 59.9178 -> 59.92
    EUR: 2 000.00, 59.92, 40.00, 99.92, 2 099.92
  Every customer, EUR: 4 050.00, 88.71, 240.00, 328.71, 4 378.71; USD as C00102.
"""

from __future__ import annotations

import ast
import csv
import datetime as dt
import io
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

from dunning import (
    actions,
    campaigns,
    customers,
    importing,
    letters,
    penalties,
    search,
    store,
)
from dunning.errors import InvalidValue

AS_OF = dt.date(2026, 2, 15)
LATE = search.Filters(min_days_late=1)
SUBJECT = "Relance #customer_name"
BODY = (
    "Bonjour #contact_name,\n\n"
    "Reste dû : #items_amount_selected, pénalités "
    "#items_amount_selected_late_penalties.\n\n"
    "#items_list_selected\n\nCordialement"
)


def totals(*figures: str) -> penalties.Totals:
    return penalties.Totals(*(Decimal(f) for f in figures))


C00101_EUR = totals("1500.00", "24.96", "80.00", "104.96", "1604.96")
C00102_EUR = totals("300.00", "3.00", "80.00", "83.00", "383.00")
C00102_USD = totals("800.00", "7.99", "0.00", "7.99", "807.99")
C00103_EUR = totals("250.00", "0.83", "40.00", "40.83", "290.83")
C00104_EUR = totals("2000.00", "59.92", "40.00", "99.92", "2099.92")


@pytest.fixture
def ledger(con, data_file):
    """The four customers, their contacts and a sender."""
    for name, kind in (
        ("campagne_encours.csv", "items"),
        ("campagne_contacts.csv", "contacts"),
    ):
        options = importing.Options(kind=kind, as_of=AS_OF)
        report = importing.import_file(con, data_file(name), options)
        assert report.committed and not report.rows_rejected, report.errors
    store.set_setting(con, "sender.email", "relances@acme.example")
    store.set_setting(con, "company.name", "Acme SAS")
    return con


def make(con, **options) -> campaigns.Draft:
    options.setdefault("type", "letter")
    return campaigns.draft(con, LATE, AS_OF, (SUBJECT, BODY), **options)


def statuses(draft: campaigns.Draft) -> dict[str, str]:
    return {g.customer_number: g.status for g in draft.groups}


def item_id(con, customer: str, doc: str) -> int:
    return penalties.item_ids(con, customer, [doc])[0]


def count(con, table: str) -> int:
    return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


# ---------------------------------------------------------------------------
# The draft


def test_items_are_grouped_by_customer_with_totals_per_currency(ledger):
    draft = make(ledger)
    assert statuses(draft) == dict.fromkeys(
        ["C00101", "C00102", "C00103", "C00104"], campaigns.CHASED
    )
    group = {g.customer_number: g for g in draft.groups}
    assert [i.doc_number for i in group["C00101"].items] == ["FA-101-1", "FA-101-2"]
    assert group["C00101"].counts == {"EUR": 2}
    assert group["C00101"].totals == {"EUR": C00101_EUR}
    assert group["C00102"].counts == {"EUR": 1, "USD": 1}
    assert group["C00102"].totals == {"EUR": C00102_EUR, "USD": C00102_USD}
    assert group["C00103"].totals == {"EUR": C00103_EUR}
    assert group["C00104"].totals == {"EUR": C00104_EUR}
    # 1 500 + 300 + 250 + 2 000; 24.96 + 3.00 + 0.83 + 59.92; 4 x 40 + 80
    assert draft.totals == {
        "EUR": totals("4050.00", "88.71", "240.00", "328.71", "4378.71"),
        "USD": C00102_USD,
    }


def test_penalties_are_assessed_in_one_call_for_every_customer(ledger, monkeypatch):
    calls = []
    real = penalties.assess_many

    def counted(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(penalties, "assess_many", counted)
    monkeypatch.setattr(penalties, "assess", None)  # never per customer
    make(ledger)
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("minimum", "below"),
    [
        (None, {}),
        # C00103 owes 250.00 EUR; C00102's 800.00 USD reaches 500 on its own.
        ("500", {"C00103": "250.00 EUR below the minimum of 500.00"}),
        # 300 EUR + 800 USD would be 1 100 if currencies were added: they are not.
        (
            "1000",
            {
                "C00102": "300.00 EUR, 800.00 USD below the minimum of 1000.00",
                "C00103": "250.00 EUR below the minimum of 1000.00",
            },
        ),
    ],
    ids=["no-minimum", "500-one-currency-suffices", "1000-never-summed"],
)
def test_customers_below_the_minimum_are_listed_not_chased(ledger, minimum, below):
    draft = make(ledger, min_amount=minimum)
    found = {g.customer_number: g.reason for g in draft.below_minimum}
    assert found == below
    assert {g.customer_number for g in draft.chased} == (
        {"C00101", "C00102", "C00103", "C00104"} - set(below)
    )


def test_excluded_customers_and_items_are_removed(ledger):
    left_out = item_id(ledger, "C00101", "FA-101-2")
    draft = make(ledger, excluded_customers=["C00104"], excluded_items=[left_out])
    group = draft.group("C00101")
    assert [i.doc_number for i in group.items] == ["FA-101-1"]
    assert [i.doc_number for i in group.left_out] == ["FA-101-2"]
    # FA-101-1 alone: 1 000.00, 19.97, 40.00
    assert group.totals == {
        "EUR": totals("1000.00", "19.97", "40.00", "59.97", "1059.97")
    }
    assert draft.group("C00104").status == campaigns.EXCLUDED
    assert "C00104" not in {g.customer_number for g in draft.chased}


def test_a_customer_with_every_item_left_out_stays_listed(ledger):
    left_out = item_id(ledger, "C00103", "FA-103-1")
    group = make(ledger, excluded_items=[left_out]).group("C00103")
    assert group.status == campaigns.EXCLUDED
    assert [i.doc_number for i in group.left_out] == ["FA-103-1"]


def test_an_email_campaign_lists_customers_without_email(ledger):
    draft = make(ledger, type="email")
    assert [g.customer_number for g in draft.without_email_groups] == ["C00104"]
    delta = draft.group("C00104")
    assert delta.status == campaigns.NO_EMAIL
    assert "C00104 has no contact with an email address" in delta.no_email
    assert draft.group("C00102").recipients.to[0].email == "compta@beta.example"

    # Offered instead: a letter, still listed with the reason.
    draft = make(ledger, type="email", without_email="letter")
    delta = draft.group("C00104")
    assert (delta.status, delta.type) == (campaigns.CHASED, "letter")
    assert [g.customer_number for g in draft.without_email_groups] == ["C00104"]


def test_a_template_with_an_unknown_hashtag_is_a_draft_problem(ledger):
    draft = campaigns.draft(ledger, LATE, AS_OF, ("Relance", "Montant #montant_du"))
    assert any("#montant_du" in problem for problem in draft.problems)
    with pytest.raises(campaigns.CampaignRefused, match="montant_du"):
        campaigns.create(ledger, draft, "Février")


# ---------------------------------------------------------------------------
# Rendering


def test_preview_renders_one_customer_with_its_amounts(ledger):
    preview = campaigns.preview(ledger, make(ledger), "C00102")
    assert preview.subject == "Relance Beta Transports"
    assert "Bonjour Inès Moreau," in preview.text
    # One amount per currency, never a sum: 300,00 € ; 800,00 $US
    assert "Reste dû : 300,00 € ; 800,00 $US, pénalités 83,00 € ; 7,99 $US." in (
        preview.text.replace("\u00a0", " ").replace("\u202f", " ")
    )
    assert "<table" in preview.html and not preview.blocking


ACCOUNT_BODY = (
    "Solde #account_balance, taux #penalty_rate, échu "
    "#items_amount_overdue_include_late_penalties.\n\n#items_list_not_due\n\n"
    "{% for row in items_open %}{{ row.doc_number }} {% endfor %}"
)


@pytest.mark.parametrize(
    "template",
    ["relance-1-fr", (SUBJECT, BODY), (SUBJECT, ACCOUNT_BODY)],
    ids=["library", "selection", "account-wide"],
)
def test_the_fast_path_renders_what_the_preview_renders(ledger, template):
    draft = campaigns.draft(ledger, LATE, AS_OF, template, type="letter")
    renderer = campaigns.Renderer(ledger, draft)
    for group in draft.chased:
        fast = renderer.preview(group.customer_number)
        slow = campaigns.preview(ledger, draft, group.customer_number)
        assert (fast.subject, fast.text, fast.html) == (
            slow.subject,
            slow.text,
            slow.html,
        )
        assert fast.assessment.totals == slow.assessment.totals
        assert (fast.warnings, fast.blocking) == (slow.warnings, slow.blocking)
    alpha = renderer.preview("C00101")
    assert "Alpha Bureautique" in renderer.letter("C00101", alpha)
    # Only the account-wide template states FA-101-3, which is not due.
    assert ("FA-101-3" in alpha.text) == (template == (SUBJECT, ACCOUNT_BODY))


def test_the_fast_path_gives_the_preview_warnings(ledger):
    renderer = campaigns.Renderer(ledger, make(ledger))
    assert (
        "Customer C00104 has no named contact: #contact_name prints nothing."
        in renderer.preview("C00104").warnings
    )
    assert any(
        "#items_amount_selected covers several currencies (EUR, USD)" in warning
        for warning in renderer.preview("C00102").warnings
    )


def test_campaigns_reaches_no_private_name_of_another_module():
    """The fast path shares hashtags.compute_from and rendering.render_compiled
    with the per-customer path instead of calling other modules' insides."""
    tree = ast.parse(Path(campaigns.__file__).read_text(encoding="utf-8"))
    modules, reached = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "dunning"
        ):
            modules |= {alias.asname or alias.name for alias in node.names}
            reached += [a.name for a in node.names if a.name.startswith("_")]
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
            and node.attr.startswith("_")
        ):
            reached.append(f"{node.value.id}.{node.attr}")
    assert "hashtags" in modules and "rendering" in modules
    assert reached == []


def test_the_fast_path_runs_no_query_per_customer(ledger):
    draft = make(ledger)
    renderer = campaigns.Renderer(ledger, draft)
    ledger.close()  # from here on, any query would fail
    rendered = [renderer.preview(g.customer_number) for g in draft.chased]
    assert [p.subject for p in rendered] == [
        "Relance Alpha Bureautique",
        "Relance Beta Transports",
        "Relance Gamma Services",
        "Relance Delta Conseil",
    ]


# ---------------------------------------------------------------------------
# Creating


def test_create_stores_the_campaign_and_every_action(ledger, monkeypatch):
    monkeypatch.setenv("DUNNING_USER", "claire")
    draft = make(ledger, min_amount="500")
    progress = []
    campaign = campaigns.create(
        ledger,
        draft,
        "Relance février",
        planned_for="2026-02-20",
        mode="auto",
        progress=lambda done, total: progress.append((done, total)),
    )
    assert progress == [(1, 3), (2, 3), (3, 3)]
    assert (campaign.name, campaign.template, campaign.as_of) == (
        "Relance février",
        None,
        AS_OF,
    )
    assert campaign.created_by == "claire"
    stored = ledger.execute(
        "SELECT filters FROM campaigns WHERE campaign_id = ?", [campaign.campaign_id]
    ).fetchone()[0]
    assert search.from_json(stored) == search.normalised(LATE)

    shown = campaigns.show(ledger, campaign.campaign_id)
    assert [a["customer_number"] for a in shown["actions"]] == [
        "C00101",
        "C00102",
        "C00104",
    ]
    assert {a["status"] for a in shown["actions"]} == {"planned"}
    assert {a["planned_for"] for a in shown["actions"]} == {dt.date(2026, 2, 20)}
    # EUR 1 500 + 300 + 2 000 = 3 800.00; interest 24.96 + 3.00 + 59.92 = 87.88;
    # indemnity 80 + 80 + 40 = 200.00; penalties 287.88; USD as C00102
    assert shown["totals"]["EUR"] == {
        "amount_selected": Decimal("3800.00"),
        "interest": Decimal("87.88"),
        "indemnity": Decimal("200.00"),
        "penalties": Decimal("287.88"),
        "amount_including_penalties": Decimal("4087.88"),
    }
    assert shown["totals"]["USD"]["amount_including_penalties"] == Decimal("807.99")
    assert count(ledger, "action_items") == 5  # 2 + 2 + 1

    listed = campaigns.listing(ledger)
    assert [(c["name"], c["actions"], c["statuses"]) for c in listed] == [
        ("Relance février", 3, {"planned": 3})
    ]


def _close_second_customers_item(con) -> None:
    """An import settled FA-102-1 after the draft was made."""
    con.execute("DELETE FROM items WHERE doc_number = 'FA-102-1'")


@pytest.mark.parametrize(
    ("change", "planned_for", "message"),
    [
        (_close_second_customers_item, "2026-02-20", "C00102"),
        (None, "20/02/2026", "planned date"),
    ],
    ids=["second-customer-fails", "invalid-planned-date"],
)
def test_create_is_one_transaction(ledger, change, planned_for, message):
    draft = make(ledger)
    if change:
        change(ledger)
    with pytest.raises((campaigns.CampaignRefused, InvalidValue), match=message):
        campaigns.create(ledger, draft, "Février", planned_for=planned_for)
    for table in ("campaigns", "actions", "action_items", "action_events"):
        assert count(ledger, table) == 0, table
    # The connection is usable again afterwards.
    assert campaigns.listing(ledger) == []


def test_a_campaign_needs_a_name(ledger):
    with pytest.raises(InvalidValue, match="name"):
        campaigns.create(ledger, make(ledger), "  ")


# ---------------------------------------------------------------------------
# Carrying out and the batch output


@pytest.fixture
def letters_done(ledger, tmp_path):
    """A letter campaign over the four customers, carried out once."""
    campaign = campaigns.create(ledger, make(ledger), "Février")
    progress = []
    report = campaigns.carry_out(
        ledger,
        campaign.campaign_id,
        tmp_path / "out",
        progress=lambda done, total: progress.append((done, total)),
    )
    return campaign, report, progress


def test_carry_out_reports_progress_and_runs_each_action_once(
    ledger, tmp_path, letters_done
):
    campaign, report, progress = letters_done
    assert progress == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]
    assert sorted(report.carried_out) == sorted(campaign.action_ids)
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert len(files) == 4 and all(name.endswith(".pdf") for name in files)

    again = []
    second = campaigns.carry_out(
        ledger,
        campaign.campaign_id,
        tmp_path / "out",
        progress=lambda done, total: again.append((done, total)),
    )
    assert (second.outcomes, again) == ([], [(0, 0)])
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == files
    done = [actions.get(ledger, i)["attempts"] for i in campaign.action_ids]
    assert done == [1, 1, 1, 1]


def test_letters_pdf_merges_the_letters_by_customer(ledger, letters_done):
    campaign, _, _ = letters_done
    pages = letters.page_texts(campaigns.letters_pdf(ledger, campaign.campaign_id))
    text = "\n".join(pages)
    names = ["Alpha Bureautique", "Beta Transports", "Gamma Services", "Delta Conseil"]
    positions = [text.index(name) for name in names]
    assert positions == sorted(positions)
    assert "FA-104-1" in text


def test_letters_pdf_before_carrying_out_is_refused(ledger):
    campaign = campaigns.create(ledger, make(ledger), "Février")
    with pytest.raises(campaigns.CampaignRefused, match="carry out"):
        campaigns.letters_pdf(ledger, campaign.campaign_id)


def test_zip_bundle_holds_each_output_and_a_summary(ledger, tmp_path):
    # An email campaign where Delta Conseil, without email, gets a letter; its
    # name looks like a formula to a spreadsheet.
    customers.update(ledger, "C00104", {"name": "=Delta Conseil"})
    draft = make(ledger, type="email", without_email="letter")
    campaign = campaigns.create(ledger, draft, "Février")
    campaigns.carry_out(ledger, campaign.campaign_id, tmp_path / "out")

    data = campaigns.zip_bundle(ledger, campaign.campaign_id)
    bundle = zipfile.ZipFile(io.BytesIO(data))
    first, second, third, fourth = campaign.action_ids
    assert sorted(bundle.namelist()) == [
        f"action-{first}-C00101-email.eml",
        f"action-{second}-C00102-email.eml",
        f"action-{third}-C00103-email.eml",
        f"action-{fourth}-C00104-letter.pdf",
        "summary.csv",
    ]
    summary = bundle.read("summary.csv").decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(summary)))
    assert list(rows[0]) == list(campaigns.SUMMARY_COLUMNS)
    beta = [r for r in rows if r["customer_number"] == "C00102"]
    assert [(r["currency"], r["amount_including_penalties"]) for r in beta] == [
        ("EUR", "383.00"),
        ("USD", "807.99"),
    ]
    delta = next(r for r in rows if r["customer_number"] == "C00104")
    assert delta["customer_name"] == "'=Delta Conseil"
    assert (delta["type"], delta["status"]) == ("letter", "done")
    assert delta["file"].endswith("-C00104-letter.pdf")
    assert b"Subject: Relance Beta Transports" in bundle.read(beta[0]["file"])

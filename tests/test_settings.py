"""Editable settings: validation, one transaction, and where SMTP values come from."""

from __future__ import annotations

import pytest

from dunning import settings, store
from dunning.errors import InvalidValue


@pytest.fixture
def con(tmp_path):
    connection = store.connect(tmp_path / "w.duckdb")
    yield connection
    connection.close()


def test_a_new_workspace_has_blank_company_details_and_fr_defaults(con):
    values = settings.editable(con)
    assert values["defaults.language"] == "fr"
    assert values["defaults.payment_terms_days"] == 30
    assert values["company.name"] == ""
    assert settings.company(con).logo == ""


def test_update_stores_clean_values(con):
    settings.update(
        con,
        {
            "company.name": "  Acme Recouvrement SAS ",
            "company.iban": "gb82 west 1234 5698 7654 32",
            "defaults.currency": "usd",
            "defaults.payment_terms_days": "45",
            "smtp.port": "2525",
        },
    )
    values = settings.editable(con)
    assert values["company.name"] == "Acme Recouvrement SAS"
    # The ISO 13616 example IBAN, regrouped by four.
    assert values["company.iban"] == "GB82 WEST 1234 5698 7654 32"
    assert values["defaults.currency"] == "USD"
    assert values["defaults.payment_terms_days"] == 45
    assert values["smtp.port"] == 2525


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("company.iban", "GB82 WEST 1234 5698 7654 33", "IBAN"),  # check digit off
        ("defaults.currency", "EURO", "ISO 4217"),
        ("defaults.payment_terms_days", "12,5", "whole number"),
        ("defaults.penalty_rule", "italian", "fr_legal"),
        ("defaults.language", "de", "fr or en"),
        ("sender.email", "Anne <anne@example.com>", "email address"),
        ("sender.email", "anne@example.com\r\nBcc: x@evil.test", "line break"),
        ("smtp.host", "smtp://mail.example.com", "host name"),
        ("smtp.port", "70000", "1 to 65535"),
        ("smtp.security", "tls", "starttls"),
        ("penalties.fr_rate_reference", "yearly", "due_half_year"),
        ("defaults.indemnity_enabled", "yes", "on or off"),
        ("company.secret", "x", "cannot be edited"),
    ],
)
def test_a_wrong_value_is_refused_and_nothing_is_stored(con, key, value, words):
    before = settings.editable(con)
    with pytest.raises(InvalidValue, match=words):
        settings.update(con, {"company.name": "Changed", key: value})
    assert settings.editable(con) == before


def test_logo_is_kept_inside_the_workspace(con):
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 10
    uri = settings.set_logo(con, "logo.PNG", png)
    assert uri.startswith("data:image/png;base64,")
    assert settings.company(con).logo == uri
    with pytest.raises(InvalidValue, match="PNG or JPEG"):
        settings.set_logo(con, "logo.gif", png)
    with pytest.raises(InvalidValue, match="at most 512 KB"):
        settings.set_logo(con, "big.png", b"0" * (settings.LOGO_MAX_BYTES + 1))
    settings.clear_logo(con)
    assert settings.company(con).logo == ""


def test_smtp_environment_wins_over_secrets_which_win_over_workspace(con, tmp_path):
    settings.update(
        con,
        {"smtp.host": "ws.example.com", "smtp.from": "ws@example.com"},
    )
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(
        '[smtp]\nhost = "secrets.example.com"\nuser = "relance"\n'
        'password = "s3cret"\nsecurity = "starttls"\n',
        encoding="utf-8",
    )
    environ = {"DUNNING_SMTP_HOST": "env.example.com"}
    found = settings.smtp(con, environ=environ, secrets_path=secrets)
    assert found.host == "env.example.com"
    assert found.user == "relance"
    assert found.sender == "ws@example.com"
    # starttls without a port takes the submission port.
    assert (found.security, found.port) == ("starttls", 587)
    assert found.sources == {
        "host": "environment",
        "user": "secrets file",
        "password": "secrets file",
        "security": "secrets file",
        "from": "workspace",
    }
    assert "s3cret" not in repr(found)


def test_smtp_flat_secret_keys_and_a_wrong_value_names_its_source(con, tmp_path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('DUNNING_SMTP_SECURITY = "tls"\n', encoding="utf-8")
    with pytest.raises(InvalidValue, match="secrets file: DUNNING_SMTP_SECURITY"):
        settings.smtp(con, environ={}, secrets_path=secrets)


def test_unconfigured_smtp_says_so(con, tmp_path):
    found = settings.smtp(con, environ={}, secrets_path=tmp_path / "none.toml")
    assert not found.configured
    assert (found.security, found.port) == ("none", 25)

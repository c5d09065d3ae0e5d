"""Brands in the YAML: the tracking rule (or terms as the simplest rule), filters, sources, and
where secrets are read from."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.config.secrets import SecretError, read_secret
from streams.config.settings import SettingsError, load_settings

ISSUE_EXAMPLE = """
brands:
  - name: zakupowo
    rule: '(zakupowo OR "zakupowo.pl") AND NOT giveaway*'
    exclude_authors: ["zakupowo_bot"]
    facebook: {page_id: "1234567890", token_env: ZAKUPOWO_PAGE_TOKEN}
    instagram: {account_id: "17841400000000000"}
    x: {query: "zakupowo -is:retweet"}
    feeds: ["https://forum.example/brand.rss"]
collectors:
  facebook: {api_url: "https://graph.facebook.com/v23.0", app_secret_env: FB_APP_SECRET, verify_token_env: FB_VERIFY_TOKEN}
  x: {api_url: "https://api.x.com/2", bearer_token_env: X_BEARER_TOKEN}
  poll_interval_s: 60
"""


def test_the_documented_shape_loads(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "c.yaml"
    path.write_text(ISSUE_EXAMPLE, encoding="utf-8")
    s = load_settings(path)
    brand = s.brands[0]
    assert brand.tracking_rule == '(zakupowo OR "zakupowo.pl") AND NOT giveaway*'
    assert brand.compiled_rule().matches("Zakupowo.pl znowu nie działa")
    assert not brand.compiled_rule().matches("zakupowo GIVEAWAYS!")
    assert brand.facebook is not None and brand.facebook.page_id == "1234567890"
    assert brand.facebook.token_env == "ZAKUPOWO_PAGE_TOKEN"
    assert brand.instagram is not None and brand.x is not None and brand.x.query == "zakupowo -is:retweet"
    assert [(f.url, f.platform) for f in brand.feeds] == [("https://forum.example/brand.rss", "forum")]
    assert brand.exclude_authors == ("zakupowo_bot",)
    assert s.collectors.poll_interval_s == 60
    assert s.collectors.facebook.app_secret_env == "FB_APP_SECRET"
    assert s.collectors.x.bearer_token_env == "X_BEARER_TOKEN"


def test_terms_are_the_simplest_rule(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "c.yaml"
    path.write_text("brands:\n  - {name: orlen, terms: [orlen, '#orlenpay', 'stacja orlen']}\n")
    brand = load_settings(path).brands[0]
    assert brand.tracking_rule == '"orlen" OR "#orlenpay" OR "stacja orlen"'
    rule = brand.compiled_rule()
    assert rule.matches("ORLEN znowu") and rule.matches("płacę #OrlenPay") and not rule.matches("orlenowy")


@pytest.mark.parametrize(
    ("brand", "message"),
    [
        ("{name: a}", "rule"),
        ("{name: a, terms: [a], rule: a}", "not both"),
        ("{name: a, rule: 'a AND (b'}", "column"),
        ("{name: a, terms: ['']}", "empty"),
        ("{name: a, rule: a, languages: [polish]}", "ISO 639"),
        ("{name: a, rule: a, facebook: {page_id: '1'}}", "token_env or token_file"),
        ("{name: a, rule: a, facebook: {page_id: '1', token_env: A, token_file: /x}}", "exactly one"),
        ("{name: a, rule: a, feeds: [ftp://x]}", "url"),
    ],
)
def test_bad_brands_are_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, brand: str, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "c.yaml"
    path.write_text(f"brands:\n  - {brand}\n")
    with pytest.raises(SettingsError, match=message):
        load_settings(path)


def test_filters_are_normalised(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "c.yaml"
    path.write_text(
        "brands:\n  - {name: a, rule: a, languages: [PL, hu], exclude_authors: ['@Bot'],"
        " exclude_domains: [Spam.Example], feeds: [{url: 'https://r.example/f', platform: review}]}\n"
    )
    brand = load_settings(path).brands[0]
    assert brand.languages == ("pl", "hu")
    assert brand.exclude_authors == ("bot",) and brand.exclude_domains == ("spam.example",)
    assert brand.feeds[0].platform == "review"


def test_secrets_come_from_a_file_or_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("s3cr3t-value\n")
    assert read_secret(None, secret, "page token of a") == "s3cr3t-value"
    monkeypatch.setenv("PAGE_TOKEN", " env-value ")
    assert read_secret("PAGE_TOKEN", None, "page token of a") == "env-value"
    monkeypatch.setenv("PAGE_TOKEN", "")
    with pytest.raises(SecretError, match="page token of a: environment variable PAGE_TOKEN is not set"):
        read_secret("PAGE_TOKEN", None, "page token of a")
    with pytest.raises(SecretError, match="cannot read"):
        read_secret(None, tmp_path / "missing", "page token of a")
    secret.write_bytes(b"\xff\xfe")
    with pytest.raises(SecretError) as err:
        read_secret(None, secret, "page token of a")
    assert "\\xff" not in str(err.value)

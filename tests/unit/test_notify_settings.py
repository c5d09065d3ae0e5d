"""Notifier settings: what each type needs, no secrets in the YAML, secrets read at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from streams.config.notifiers import NotifierConfigError, NotifierSettings, NotifySettings, resolve_secret
from streams.notify.deliver import build_deliverers
from streams.notify.email import EmailNotifier
from streams.notify.factory import build_notifiers
from streams.notify.pagerduty import PagerDutyNotifier
from streams.notify.slack import SlackNotifier
from streams.notify.store import MemoryDeliveryStore
from streams.notify.webhook import WebhookNotifier
from tests.notify_servers import WEBHOOK_SECRET

YAML = """
notifiers:
  - {name: hook, type: webhook, url: "https://hooks.example.com/fw", secret_env: FW_HOOK}
  - {name: slack, type: slack, secret_env: FW_SLACK_URL}
  - {name: pd, type: pagerduty, secret_file: SECRET_FILE}
  - name: mail
    type: email
    host: smtp.example.com
    username: pager
    from_addr: fw@example.com
    to: [oncall@example.com]
    secret_env: FW_SMTP
routes:
  - {notifiers: [pd], min_severity: critical}
  - {notifiers: [hook, slack, mail], brands: [acme]}
retry: {max_attempts: 5, initial_s: 0.5}
"""


def notify(text: str = YAML, tmp_path: Path | None = None) -> NotifySettings:
    if tmp_path is not None:
        (tmp_path / "pd.key").write_text("R0UT1NG\n")
        text = text.replace("SECRET_FILE", str(tmp_path / "pd.key"))
    return NotifySettings.model_validate(yaml.safe_load(text))


ENV = {"FW_HOOK": WEBHOOK_SECRET, "FW_SLACK_URL": "https://hooks.slack.com/services/T/B/X", "FW_SMTP": "pw"}


def test_a_full_configuration_builds_every_notifier(tmp_path: Path) -> None:
    settings = notify(tmp_path=tmp_path)
    hook, slack, pd, mail = build_notifiers(settings, ENV)
    assert isinstance(hook, WebhookNotifier) and hook.secret == WEBHOOK_SECRET
    assert isinstance(slack, SlackNotifier) and slack.url == ENV["FW_SLACK_URL"]
    assert isinstance(pd, PagerDutyNotifier) and pd.routing_key == "R0UT1NG"
    assert pd.endpoint == "https://events.pagerduty.com/v2/enqueue"
    assert isinstance(mail, EmailNotifier) and (mail.password, mail.port, mail.starttls) == ("pw", 587, True)
    deliverers = build_deliverers(settings, MemoryDeliveryStore(), environ=ENV)
    assert [d.notifier.name for d in deliverers] == ["hook", "slack", "pd", "mail"]
    assert deliverers[0].policy.max_attempts == 5 and deliverers[0].policy.initial_s == 0.5
    assert deliverers[0].routes == settings.routes


def test_missing_secrets_are_all_named_without_their_values(tmp_path: Path) -> None:
    settings = notify()  # SECRET_FILE does not exist
    with pytest.raises(NotifierConfigError) as caught:
        build_notifiers(settings, {"FW_HOOK": WEBHOOK_SECRET, "FW_SLACK_URL": "  "})
    message = str(caught.value)
    assert "'slack': environment variable FW_SLACK_URL is not set or empty" in message
    assert "'pd': secret_file: cannot read SECRET_FILE" in message
    assert "'mail': environment variable FW_SMTP is not set or empty" in message
    assert WEBHOOK_SECRET not in message


def test_an_empty_secret_file_and_a_malformed_webhook_secret_are_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").write_text("\n")
    empty = NotifierSettings(name="pd", type="pagerduty", secret_file=tmp_path / "empty")
    with pytest.raises(NotifierConfigError, match="is empty"):
        resolve_secret(empty)
    (tmp_path / "latin2").write_bytes("klucz-zażółć".encode("iso-8859-2"))
    latin2 = NotifierSettings(name="pd", type="pagerduty", secret_file=tmp_path / "latin2")
    with pytest.raises(NotifierConfigError, match=r"'pd': secret_file: .*latin2 is not UTF-8 text"):
        resolve_secret(latin2)
    hook = NotifySettings.model_validate(
        {"notifiers": [{"name": "hook", "type": "webhook", "url": "http://x/", "secret_env": "S"}]}
    )
    with pytest.raises(NotifierConfigError, match="'hook': a webhook secret has the form whsec_"):
        build_notifiers(hook, {"S": "plain-text-secret"})


def test_secrets_are_read_from_the_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FW_TEST_PD_KEY", " key-from-env \n")
    settings = NotifierSettings(
        name="pd", type="pagerduty", secret_env="FW_TEST_PD_KEY", url="http://127.0.0.1:9"
    )
    assert resolve_secret(settings) == "key-from-env"
    assert resolve_secret(NotifierSettings(name="s", type="slack", url="http://127.0.0.1:9/x")) is None


def problems(notifier: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        NotifierSettings.model_validate(notifier)
    return str(caught.value)


@pytest.mark.parametrize(
    ("notifier", "expected"),
    [
        ({"name": "h", "type": "webhook", "secret_env": "S"}, "url is required"),
        (
            {"name": "h", "type": "webhook", "url": "http://x/"},
            "secret_env or secret_file (the whsec_ signing",
        ),
        ({"name": "s", "type": "slack"}, "exactly one of secret_env/secret_file (the webhook URL) or url"),
        ({"name": "s", "type": "slack", "url": "http://x/", "secret_env": "S"}, "exactly one of"),
        ({"name": "p", "type": "pagerduty"}, "secret_env or secret_file (the routing key)"),
        ({"name": "m", "type": "email", "to": ["a@b"]}, "host is required; from_addr is required"),
        ({"name": "m", "type": "email", "host": "h", "from_addr": "a@b"}, "to needs at least one address"),
        (
            {"name": "m", "type": "email", "host": "h", "from_addr": "a@b", "to": ["c@d"], "username": "u"},
            "username and secret_env/secret_file (the password) go together",
        ),
        (
            {"name": "h", "type": "webhook", "url": "http://x/", "secret_env": "S", "secret_file": "f"},
            "give secret_env or secret_file, not both",
        ),
        (
            {"name": "h", "type": "webhook", "url": "http://x/", "secret_env": "S", "to": ["a@b"]},
            "to do(es) not apply to a webhook notifier",
        ),
        (
            {"name": "h", "type": "webhook", "url": "http://x/", "secret": "whsec_abc"},
            "secret: secrets do not belong in the configuration",
        ),
        ({"name": "p", "type": "pagerduty", "routing_key": "abc"}, "routing_key: secrets do not belong"),
        ({"name": "m", "type": "email", "password": "pw"}, "password: secrets do not belong"),
        ({"name": "x", "type": "sms"}, "Input should be 'webhook', 'slack', 'pagerduty' or 'email'"),
        (
            {"name": "h", "type": "webhook", "url": "ftp://x", "secret_env": "S"},
            "String should match pattern",
        ),
    ],
)
def test_each_type_says_what_it_misses(notifier: dict[str, Any], expected: str) -> None:
    assert expected in problems(notifier)


def test_routes_must_name_known_notifiers_and_names_must_be_unique() -> None:
    with pytest.raises(ValidationError, match="routes name unknown notifiers: nope"):
        notify(YAML.replace("[pd]", "[nope]"))
    with pytest.raises(ValidationError, match="notifier names must be unique: hook"):
        notify(YAML.replace("name: slack", "name: hook"))
    with pytest.raises(ValidationError, match="min_severity"):
        notify(YAML.replace("min_severity: critical", "min_severity: urgent"))


def test_notifiers_and_routes_at_the_top_of_the_yaml_are_the_notify_section(tmp_path: Path) -> None:
    from streams.config.settings import SettingsError, load_settings

    path = tmp_path / "flarewatch.yaml"
    path.write_text(
        "notifiers:\n"
        "  - {name: hook, type: webhook, url: 'https://hooks.example.com/fw', secret_env: FW_HOOK}\n"
        "routes:\n"
        "  - {notifiers: [hook], brands: [zakupowo], min_severity: warning}\n"
        "notify:\n"
        "  retry: {max_elapsed_s: 60}\n"
    )
    notify = load_settings(path).notify
    assert [n.name for n in notify.notifiers] == ["hook"]
    assert notify.routes[0].min_severity == "warning" and notify.retry.max_elapsed_s == 60
    path.write_text(path.read_text() + "  notifiers: []\n")
    with pytest.raises(SettingsError, match="notifiers: given both at the top level and under notify"):
        load_settings(path)

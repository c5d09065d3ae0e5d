"""Secrets from mounted files (``*_file`` settings) as well as the environment: read once at
start-up, errors that name the setting and the path but never the contents, configs for child
processes without values, and the Kafka clients following ``security_protocol``."""

from __future__ import annotations

import ssl
from pathlib import Path

import certifi
import faust
import pytest
import yaml
from pydantic import ValidationError

from streams.cli.main import main
from streams.config.kafka import KafkaSettings
from streams.config.settings import Settings, SettingsError, load_settings
from streams.devstack.demo import write_config
from streams.kafka.clients import faust_credentials, kafka_python_config, ssl_context

SECRETS = [
    ("kafka", "sasl_password"),
    ("elasticsearch", "password"),
    ("elasticsearch", "api_key"),
    ("elasticsearch", "kibana_password"),
    ("elasticsearch", "kibana_api_key"),
    ("web", "token"),
]
VALUE = "s3cret-Value-from-a-file"


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    monkeypatch.delenv("FLAREWATCH_CONFIG", raising=False)


def secret(settings: Settings, section: str, field: str) -> str | None:
    value = getattr(getattr(settings, section), field)
    return None if value is None else value.get_secret_value()


def env_name(section: str, field: str) -> str:
    return f"FLAREWATCH_{section.upper()}__{field.upper()}"


@pytest.mark.parametrize(("section", "field"), SECRETS)
def test_a_secret_file_fills_the_secret_without_surrounding_whitespace(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, section: str, field: str
) -> None:
    path = tmp_path / "mounted"
    path.write_text(f"  {VALUE}\n")
    monkeypatch.setenv(env_name(section, f"{field}_file"), str(path))
    settings = load_settings()
    assert secret(settings, section, field) == VALUE
    assert getattr(getattr(settings, section), f"{field}_file") == path


@pytest.mark.parametrize(("section", "field"), SECRETS)
def test_the_environment_still_works(monkeypatch: pytest.MonkeyPatch, section: str, field: str) -> None:
    monkeypatch.setenv(env_name(section, field), VALUE)
    assert secret(load_settings(), section, field) == VALUE


@pytest.mark.parametrize(("section", "field"), SECRETS)
def test_a_value_and_a_file_is_an_error_that_shows_neither(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, section: str, field: str
) -> None:
    path = tmp_path / "mounted"
    path.write_text(VALUE)
    monkeypatch.setenv(env_name(section, field), "other-Value-in-env")
    monkeypatch.setenv(env_name(section, f"{field}_file"), str(path))
    with pytest.raises(SettingsError) as err:
        load_settings()
    message = str(err.value)
    assert f"{section}: {field} and {field}_file are both given" in message
    assert VALUE not in message and "other-Value-in-env" not in message


def test_the_same_value_again_is_not_a_conflict(tmp_path: Path) -> None:
    """A section validated again from its own dump carries the value and the file."""
    path = tmp_path / "mounted"
    path.write_text(VALUE)
    kafka = KafkaSettings.model_validate({"sasl_password_file": str(path)})
    again = KafkaSettings.model_validate(kafka.model_dump())
    assert again.sasl_password is not None and again.sasl_password.get_secret_value() == VALUE


@pytest.mark.parametrize(
    ("content", "problem"),
    [(None, "cannot read {path}: No such file or directory"), (b" \n", "{path} is empty")],
)
def test_an_unusable_file_is_one_line_naming_the_setting_and_the_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, content: bytes | None, problem: str
) -> None:
    path = tmp_path / "mounted"
    if content is not None:
        path.write_bytes(content)
    monkeypatch.setenv("FLAREWATCH_WEB__TOKEN_FILE", str(path))
    with pytest.raises(SettingsError) as err:
        load_settings()
    lines = str(err.value).splitlines()
    assert lines[1:] == [f"  web: token_file: {problem.format(path=path)}"], lines


def test_a_file_that_is_not_utf8_is_named_and_its_bytes_are_not_shown(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "binary"
    path.write_bytes(b"\xff\xfeLeaky-Bytes")
    monkeypatch.setenv("FLAREWATCH_ELASTICSEARCH__API_KEY_FILE", str(path))
    with pytest.raises(SettingsError) as err:
        load_settings()
    message = str(err.value)
    assert f"elasticsearch: api_key_file: {path} is not UTF-8 text" in message
    assert "Leaky" not in message


def test_a_direct_validation_error_does_not_echo_the_input(tmp_path: Path) -> None:
    path = tmp_path / "mounted"
    path.write_text(VALUE)
    with pytest.raises(ValidationError) as err:
        KafkaSettings.model_validate({"sasl_password": "Given-Value-1", "sasl_password_file": str(path)})
    assert "Given-Value-1" not in str(err.value) and VALUE not in str(err.value)


def test_the_cli_shows_a_bad_file_as_its_one_problem_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "run" / "secrets" / "kafka-password"
    monkeypatch.setenv("FLAREWATCH_KAFKA__SASL_PASSWORD_FILE", str(missing))
    with pytest.raises(SystemExit) as exited:
        main(["init", "--no-topics"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "flarewatch: error: invalid configuration:",
        f"  kafka: sasl_password_file: cannot read {missing}: No such file or directory",
    ]


def test_a_config_for_a_child_keeps_the_files_and_drops_every_value(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    files = {}
    for section, field in SECRETS:
        path = tmp_path / f"{section}-{field}"
        path.write_text(f"{section}-{field}-{VALUE}")
        files[section, field] = path
        monkeypatch.setenv(env_name(section, f"{field}_file"), str(path))
    settings = load_settings()
    config = write_config(settings, tmp_path / "child" / "flarewatch.yaml")
    text = config.read_text()
    assert VALUE not in text and "*****" not in text
    data = yaml.safe_load(text)
    for (section, field), path in files.items():
        assert field not in data[section]
        assert data[section][f"{field}_file"] == str(path)
    for section, field in SECRETS:
        monkeypatch.delenv(env_name(section, f"{field}_file"))
    child = load_settings(config)
    assert all(secret(child, s, f) == f"{s}-{f}-{VALUE}" for s, f in SECRETS)


def test_a_config_for_a_child_drops_values_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for section, field in SECRETS:
        monkeypatch.setenv(env_name(section, field), f"{field}-{VALUE}")
    text = write_config(load_settings(), tmp_path / "flarewatch.yaml").read_text()
    assert VALUE not in text and "*****" not in text


# -- the Kafka clients -------------------------------------------------------------------------


def test_sasl_ssl_uses_the_ca_and_client_certificate_in_kafka_python(tmp_path: Path) -> None:
    password = tmp_path / "password"
    password.write_text(VALUE)
    k = KafkaSettings(
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="flarewatch",
        sasl_password_file=password,
        ssl_cafile=Path("/ca.crt"),
        ssl_certfile=Path("/user.crt"),
        ssl_keyfile=Path("/user.key"),
    )
    assert kafka_python_config(k) == {
        "bootstrap_servers": ["127.0.0.1:9092"],
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "flarewatch",
        "sasl_plain_password": VALUE,
        "ssl_cafile": "/ca.crt",
        "ssl_certfile": "/user.crt",
        "ssl_keyfile": "/user.key",
    }


def test_plaintext_ignores_sasl_and_tls_settings_in_both_clients() -> None:
    k = KafkaSettings(sasl_mechanism="PLAIN", sasl_username="u", sasl_password="p", ssl_cafile=Path("/ca"))
    assert kafka_python_config(k) == {
        "bootstrap_servers": ["127.0.0.1:9092"],
        "security_protocol": "PLAINTEXT",
    }
    assert faust_credentials(k) is None


def test_faust_gets_sasl_over_tls_with_the_configured_ca() -> None:
    k = KafkaSettings(
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-256",
        sasl_username="flarewatch",
        sasl_password=VALUE,
        ssl_cafile=Path(certifi.where()),
    )
    credentials = faust_credentials(k)
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.protocol.value == "SASL_SSL" and credentials.mechanism.value == "SCRAM-SHA-256"
    assert credentials.password == VALUE and isinstance(credentials.ssl_context, ssl.SSLContext)
    assert credentials.ssl_context.get_ca_certs() or credentials.ssl_context.cert_store_stats()["x509_ca"]


def test_faust_gets_plain_sasl_without_tls() -> None:
    k = KafkaSettings(
        security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN", sasl_username="u", sasl_password="p"
    )
    credentials = faust_credentials(k)
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.protocol.value == "SASL_PLAINTEXT" and credentials.ssl_context is None


def test_faust_gets_tls_credentials_for_ssl() -> None:
    k = KafkaSettings(security_protocol="SSL", ssl_cafile=Path(certifi.where()))
    credentials = faust_credentials(k)
    assert isinstance(credentials, faust.SSLCredentials)
    assert credentials.protocol.value == "SSL"


def test_a_missing_client_certificate_fails_when_the_tls_context_is_made(tmp_path: Path) -> None:
    k = KafkaSettings(
        security_protocol="SSL", ssl_certfile=tmp_path / "user.crt", ssl_keyfile=tmp_path / "user.key"
    )
    with pytest.raises(OSError):
        ssl_context(k)


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"security_protocol": "SASL_SSL"}, "SASL_SSL needs sasl_mechanism and sasl_username"),
        ({"security_protocol": "SSL", "ssl_certfile": "/c"}, "ssl_certfile and ssl_keyfile go together"),
    ],
)
def test_incomplete_security_settings_are_refused(values: dict[str, str], problem: str) -> None:
    with pytest.raises(SettingsError, match=problem):
        load_settings(kafka=values)

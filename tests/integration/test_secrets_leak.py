"""No secret leaks: the real worker (fixed scorer), ``flarewatch collect search`` against the fake X
API and ``flarewatch web``, on the real broker and search server, with every secret a distinct
random value given through the environment or a ``*_file`` setting. Their logs, their /metrics
and /health pages, the answers to a rejected token, the errors of a refused SASL login and of an
unreachable search server, and the configs written for them hold no secret, nor its base64."""

from __future__ import annotations

import base64
import os
import re
import secrets
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest

from streams.config.settings import Settings, load_settings
from streams.contracts.records import utc_now
from streams.devstack.children import Child, spawn
from streams.devstack.demo import write_config
from streams.devstack.embedded import free_port
from tests.fakes.x_api import FakeX, Reply
from tests.integration.conftest import running, wait_for

pytestmark = pytest.mark.integration

USER = "flarewatch"
SECRET_KEY = re.compile(r"password|token|api_key")


def fetch(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


def pages(port: int) -> dict[str, tuple[int, str]]:
    base = f"http://127.0.0.1:{port}"
    return {path: fetch(base + path) for path in ("/metrics", "/health/live", "/health/ready")}


def forbidden(values: dict[str, str]) -> dict[str, str]:
    """What must appear nowhere: each secret, its base64 and that of ``user:secret`` (a Basic
    header), and the key inside a ``whsec_`` secret."""
    found = {}
    for name, value in values.items():
        found[name] = value
        found[f"base64 of {name}"] = base64.b64encode(value.encode()).decode().rstrip("=")
        found[f"basic auth of {name}"] = base64.b64encode(f"{USER}:{value}".encode()).decode().rstrip("=")
        if value.startswith("whsec_"):
            found[f"key of {name}"] = value.removeprefix("whsec_")
    return found


def secret_file(folder: Path, name: str, value: str) -> str:
    path = folder / name
    path.write_text(f"{value}\n")
    path.chmod(0o600)
    return str(path)


def spawn_cli(name: str, config: Path, folder: Path, env: dict[str, str], *args: str) -> Child:
    argv = [sys.executable, "-m", "streams", "--config", str(config), *args]
    return spawn(name, argv, folder / "logs" / f"{name}.log", env)


def test_no_secret_reaches_a_log_a_page_an_error_or_a_written_config(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    values = {
        "kafka password (file)": f"kafka-file-{secrets.token_urlsafe(16)}",
        "kafka password (env)": f"kafka-env-{secrets.token_urlsafe(16)}",
        "elasticsearch api key (env)": f"es-key-{secrets.token_urlsafe(16)}",
        "kibana password (file)": f"kibana-{secrets.token_urlsafe(16)}",
        "web token (file)": f"web-{secrets.token_urlsafe(16)}",
        "x bearer token (file)": f"x-{secrets.token_urlsafe(16)}",
        "webhook notifier secret (env)": "whsec_" + base64.b64encode(os.urandom(24)).decode(),
    }
    vault = tmp_path / "secrets"
    vault.mkdir()
    monkeypatch.setenv("FLAREWATCH_ELASTICSEARCH__API_KEY", values["elasticsearch api key (env)"])
    monkeypatch.setenv("FW_TEST_WEBHOOK_SECRET", values["webhook notifier secret (env)"])
    outputs: dict[str, str] = {}

    with FakeX(token=values["x bearer token (file)"]) as x:
        x.user("100", "kasia_w")
        x.post(utc_now() - timedelta(minutes=5), "@zakupowo gdzie moja paczka", "100")
        data = settings.model_dump(mode="json", exclude_defaults=True)
        data["kafka"] |= {
            "sasl_mechanism": "PLAIN",  # not used over PLAINTEXT, by either client
            "sasl_username": USER,
            "sasl_password_file": secret_file(vault, "kafka", values["kafka password (file)"]),
        }
        data["elasticsearch"] |= {
            "username": USER,
            "kibana_username": USER,
            "kibana_password_file": secret_file(vault, "kibana", values["kibana password (file)"]),
        }
        data["web"] = {
            "token_file": secret_file(vault, "web", values["web token (file)"]),
            "port": free_port(),
        }
        data["collectors"] = {
            "x": {
                "api_url": x.url,
                "bearer_token_env": None,
                "bearer_token_file": secret_file(vault, "x", values["x bearer token (file)"]),
            },
            "poll_interval_s": 1,
            "state_dir": str(tmp_path / "state"),
        }
        data["notify"] = {
            "notifiers": [
                {
                    "name": "hook",
                    "type": "webhook",
                    "url": "http://127.0.0.1:1/hook",
                    "secret_env": "FW_TEST_WEBHOOK_SECRET",
                }
            ],
            "routes": [{"notifiers": ["hook"]}],
        }
        data["brands"] = [{"name": "zakupowo", "terms": ["zakupowo"], "x": {}}]
        full = load_settings(None, **data)
        assert full.kafka.sasl_password is not None
        assert full.kafka.sasl_password.get_secret_value() == values["kafka password (file)"]

        with running(full, tmp_path) as harness:
            worker = harness.start_fake_worker()
            configs = [tmp_path / "flarewatch.yaml"]
            port = full.worker.web_port
            wait_for(
                lambda: fetch(f"http://127.0.0.1:{port}/health/ready")[0] == 200, 90, "worker ready", worker
            )

            # the collector gets its Kafka password from the environment instead of the file
            data["kafka"].pop("sasl_password_file")
            collector_config = write_config(load_settings(None, **data), tmp_path / "collector.yaml")
            configs.append(collector_config)
            env = {**os.environ, "FLAREWATCH_KAFKA__SASL_PASSWORD": values["kafka password (env)"]}
            metrics_port = free_port()
            collector = spawn_cli(
                "collector",
                collector_config,
                tmp_path,
                env,
                "collect",
                "search",
                "--metrics-port",
                str(metrics_port),
            )
            page = spawn_cli("web", configs[0], tmp_path, dict(os.environ), "web")
            try:
                published = 'flarewatch_collector_published_total{source="x-zakupowo"} 1.0'
                wait_for(
                    lambda: published in fetch(f"http://127.0.0.1:{metrics_port}/metrics")[1],
                    60,
                    "a post published",
                )
                web_base = f"http://127.0.0.1:{full.web.port}"
                wait_for(lambda: fetch(f"{web_base}/health/ready")[0] == 200, 30, "the page ready", page)

                for name, child_port in (
                    ("worker", port),
                    ("collector", metrics_port),
                    ("web", full.web.port),
                ):
                    for path, (status, body) in pages(child_port).items():
                        assert status == 200, (name, path, body)
                        outputs[f"{name} {path}"] = body

                ack = f"{web_base}/api/incidents/zakupowo:all:1/ack"
                wrong = fetch(ack, "POST", {"Authorization": "Bearer not-the-token"})
                right = fetch(ack, "POST", {"Authorization": f"Bearer {values['web token (file)']}"})
                assert wrong[0] == 403 and right[0] == 404, (wrong, right)  # the token from the file works
                outputs["web: a rejected token"], outputs["web: an unknown incident"] = wrong[1], right[1]

                x.script.append(
                    Reply(401, {"title": "Unauthorized", "status": 401, "detail": "Unauthorized"})
                )
                wait_for(lambda: not collector.alive(), 30, "the collector to stop on the rejected token")
                assert collector.process.returncode == 1
            finally:
                for child in (collector, page):
                    child.stop(signal.SIGTERM, timeout=20)
            harness.stop_all()
            logs = {
                name: (tmp_path / "logs" / f"{name}.log").read_text()
                for name in ("worker", "collector", "web")
            }
            assert "bearer token rejected (401" in logs["collector"], logs["collector"]

        outputs |= {f"log of {name}": text for name, text in logs.items()}
        outputs |= errors_of_failing_commands(full, tmp_path, vault, values)
    outputs |= {f"config {path.name}": path.read_text() for path in configs}
    assert str(vault / "kafka") in outputs["config flarewatch.yaml"]
    assert str(vault / "x") in outputs["config collector.yaml"]

    leaks = [
        f"{what} in {where}"
        for where, text in outputs.items()
        for what, value in forbidden(values).items()
        if value in text
    ]
    assert not leaks, leaks


def errors_of_failing_commands(
    settings: Settings, folder: Path, vault: Path, values: dict[str, str]
) -> dict[str, str]:
    """The output of ``init`` with SASL really in use (the test broker has no SASL: refused or
    timed out), and of ``search`` against a search server that is not there."""
    data = settings.model_dump(mode="json", exclude_defaults=True)
    for section in ("kafka", "elasticsearch", "web"):
        data[section] = {k: v for k, v in data[section].items() if not SECRET_KEY.search(k)}
    data["kafka"] |= {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_password_file": str(vault / "kafka"),
    }
    data["elasticsearch"]["url"] = "http://127.0.0.1:1"
    config = write_config(load_settings(None, **data), folder / "failing.yaml")
    found = {"config failing.yaml": config.read_text()}
    for name, args in (("init with SASL", ["init"]), ("search elsewhere", ["search", "zakupowo"])):
        command = [sys.executable, "-m", "streams", "--config", str(config), *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=folder)
        found[name] = done.stdout + done.stderr
        assert done.returncode != 0, found[name]
    assert found["init with SASL"].strip().splitlines()[-1].startswith("Error: cannot create the topics on")
    return found


def test_init_without_topics_creates_the_indices_and_never_asks_the_broker(
    settings: Settings, tmp_path: Path
) -> None:
    """``init --no-topics`` (the Kubernetes init job, which has no Kafka rights): the broker here
    is a closed port, and the command still succeeds."""
    data = settings.model_dump(mode="json", exclude_defaults=True)
    data["kafka"]["bootstrap_servers"] = f"127.0.0.1:{free_port()}"
    config = write_config(load_settings(None, **data), tmp_path / "init.yaml")
    command = [sys.executable, "-m", "streams", "--config", str(config), "init", "--no-topics"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "topics: not touched (--no-topics)" in done.stdout
    assert f"created index {settings.elasticsearch.index_prefix}-threads" in done.stderr

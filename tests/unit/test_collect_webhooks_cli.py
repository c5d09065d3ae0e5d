"""``flarewatch collect webhooks`` as a process: Meta's challenge, a signed delivery written out,
a forged one refused and counted on /metrics, no secret in its output; and the page polls in the
same process publishing only what the webhooks did not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from streams.collectors.facebook.webhooks import signature
from streams.contracts.records import utc_now
from streams.devstack.embedded import free_port
from tests.fakes.graph_api import FakeGraph
from tests.unit.test_collect_webhooks import BRAND, PAGE, SECRET, TOKEN, comment, feed

POST = f"{PAGE}_139560936744456"


def request(url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, body, headers or {}), timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def start(tmp_path: Path, graph: FakeGraph, *extra: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    config = tmp_path / "flarewatch.yaml"
    page = {"page_id": PAGE, "token_env": "PAGE_T", "messenger": False}
    facebook = {
        "app_secret_env": "FB_APP_SECRET",
        "verify_token_env": "FB_VERIFY_TOKEN",
        "api_url": graph.url,
    }
    config.write_text(
        yaml.safe_dump(
            {
                "brands": [{"name": BRAND, "terms": [BRAND], "facebook": page}],
                "collectors": {
                    "facebook": facebook,
                    "state_dir": str(tmp_path / "state"),
                    "poll_interval_s": 1,
                },
            }
        )
    )
    env = os.environ | {"FB_APP_SECRET": SECRET, "FB_VERIFY_TOKEN": TOKEN, "PAGE_T": graph.token}
    command = [sys.executable, "-m", "streams", "--config", str(config), "collect", "webhooks"]
    out = tmp_path / "out.jsonl"
    with (tmp_path / "webhooks.log").open("wb") as log:
        child = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port), "--output", str(out), *extra],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            assert request(f"{base}/metrics")[0] == 200
            return child, base
        except OSError:
            assert child.poll() is None and time.monotonic() < deadline, (
                tmp_path / "webhooks.log"
            ).read_text()
            time.sleep(0.2)


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def deliver(base: str, delivery: dict[str, Any], secret: str = SECRET) -> tuple[int, str]:
    body = json.dumps(delivery).encode()
    signed = {"X-Hub-Signature-256": signature(body, secret), "Content-Type": "application/json"}
    return request(f"{base}/webhooks/facebook", body, signed)


def test_the_endpoint_takes_signed_deliveries_and_refuses_forged_ones(tmp_path: Path) -> None:
    log = tmp_path / "webhooks.log"
    delivery = feed(comment("139560936744456_1", "Zakupowo, gdzie moja paczka?"))
    with FakeGraph(page_id=PAGE) as graph:
        child, base = start(tmp_path, graph, "--no-poll")
        try:
            query = f"hub.mode=subscribe&hub.verify_token={TOKEN}&hub.challenge=1158201444"
            assert request(f"{base}/webhooks/facebook?{query}") == (200, "1158201444")
            assert deliver(base, delivery) == (200, "EVENT_RECEIVED")
            assert deliver(base, delivery, "not-the-secret")[0] == 403
            _, metrics = request(f"{base}/metrics")
        finally:
            child.terminate()
            child.wait(20)
    found = lines(tmp_path / "out.jsonl")
    assert [(m["native_id"], m["brand"], m["thread_id"]) for m in found] == [
        ("139560936744456_1", BRAND, POST)
    ]
    assert 'flarewatch_webhook_rejected_total{reason="signature"} 1.0' in metrics
    assert SECRET not in log.read_text() and TOKEN not in log.read_text()
    assert graph.requests == []  # --no-poll


def test_polls_fill_only_the_gaps_the_webhooks_left(tmp_path: Path) -> None:
    """The page holds a post and two comments; a poll finds them before Meta's delivery of the
    first comment arrives, and a later delivery edits it: each goes out once, the edit once more."""
    out, log = tmp_path / "out.jsonl", tmp_path / "webhooks.log"
    now = utc_now().replace(microsecond=0)
    text = "Zakupowo, gdzie moja paczka?"
    with FakeGraph(page_id=PAGE) as graph:
        graph.post(POST, "Nowości w sklepie", now - timedelta(hours=2))
        graph.comment(POST, "139560936744456_1", text, now - timedelta(minutes=30))
        graph.comment(POST, "139560936744456_2", "A mój zwrot?", now - timedelta(minutes=20))
        child, base = start(tmp_path, graph)
        try:
            deadline = time.monotonic() + 60
            while len(lines(out)) < 3:
                assert child.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
                time.sleep(0.2)
            created = int((now - timedelta(minutes=30)).timestamp())
            for message in (text, text + " Już tydzień!"):
                graph.nodes["139560936744456_1"].fields["message"] = message  # what Graph shows now
                assert deliver(base, feed(comment("139560936744456_1", message, created=created))) == (
                    200,
                    "EVENT_RECEIVED",
                )
            time.sleep(2.5)  # two more polls
        finally:
            child.terminate()
            child.wait(20)
    found = [(m["native_id"], m["text"]) for m in lines(out)]
    assert found == [
        (POST, "Nowości w sklepie"),
        ("139560936744456_1", text),
        ("139560936744456_2", "A mój zwrot?"),
        ("139560936744456_1", text + " Już tydzień!"),
    ], log.read_text()[-2000:]

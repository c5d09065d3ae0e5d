"""``flarewatch collect webhooks`` as a process: Meta's challenge, a signed delivery written out,
a forged one refused and counted on /metrics, and no secret in its output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

from streams.collectors.facebook.webhooks import signature
from streams.devstack.embedded import free_port
from tests.unit.test_collect_webhooks import BRAND, PAGE, SECRET, TOKEN, comment, feed


def request(url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, body, headers or {}), timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_the_endpoint_takes_signed_deliveries_and_refuses_forged_ones(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "flarewatch.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "brands": [
                    {"name": BRAND, "terms": [BRAND], "facebook": {"page_id": PAGE, "token_env": "PAGE_T"}}
                ],
                "collectors": {
                    "facebook": {"app_secret_env": "FB_APP_SECRET", "verify_token_env": "FB_VERIFY_TOKEN"},
                    "state_dir": str(tmp_path / "state"),
                },
            }
        )
    )
    out, log = tmp_path / "mentions.jsonl", tmp_path / "webhooks.log"
    env = os.environ | {"FB_APP_SECRET": SECRET, "FB_VERIFY_TOKEN": TOKEN}
    command = [sys.executable, "-m", "streams", "--config", str(config), "collect", "webhooks"]
    with log.open("wb") as sink:
        child = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port), "--output", str(out)],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                assert request(f"{base}/metrics")[0] == 200
                break
            except OSError:
                assert child.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        query = f"hub.mode=subscribe&hub.verify_token={TOKEN}&hub.challenge=1158201444"
        assert request(f"{base}/webhooks/facebook?{query}") == (200, "1158201444")
        body = json.dumps(feed(comment("139560936744456_1", "Zakupowo, gdzie moja paczka?"))).encode()
        signed = {"X-Hub-Signature-256": signature(body, SECRET), "Content-Type": "application/json"}
        assert request(f"{base}/webhooks/facebook", body, signed) == (200, "EVENT_RECEIVED")
        forged = {"X-Hub-Signature-256": signature(body, "not-the-secret")}
        assert request(f"{base}/webhooks/facebook", body, forged)[0] == 403
        _, metrics = request(f"{base}/metrics")
    finally:
        child.terminate()
        child.wait(20)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(m["native_id"], m["brand"], m["thread_id"]) for m in lines] == [
        ("139560936744456_1", BRAND, f"{PAGE}_139560936744456")
    ]
    assert 'flarewatch_webhook_rejected_total{reason="signature"} 1.0' in metrics
    assert SECRET not in log.read_text() and TOKEN not in log.read_text()

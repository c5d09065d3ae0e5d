"""``flarewatch --config FILE collect pages|search|feeds --once --output -`` as a user runs it,
against local servers shaped like each API: JSON Lines of the raw mention record, one per item,
each exactly once; the rule narrows public search and feeds; a missing token is one line, exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from streams.contracts.records import RawMention, utc_now
from tests.fakes import graph_api, x_api
from tests.fakes.feed_server import FeedServer, Item, rss

RULE = '(zakupowo OR "zakupowo.pl") AND NOT giveaway*'


def run(
    config: dict[str, Any], tmp_path: Path, family: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "flarewatch.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    command = [
        sys.executable,
        "-m",
        "streams",
        "--config",
        str(path),
        "collect",
        family,
        "--once",
        "--output",
        "-",
    ]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=120, env=os.environ | env, cwd=tmp_path
    )


def records(stdout: str) -> list[RawMention]:
    return [RawMention.model_validate(json.loads(line)) for line in stdout.splitlines()]


def test_pages_prints_each_item_of_the_page_once(tmp_path: Path) -> None:
    now = utc_now()
    with graph_api.FakeGraph(page_id="1234567890") as graph:
        post = "1234567890_501"
        graph.post(post, "Od dziś dostawa w 24h!", now - timedelta(hours=3))
        graph.comment(post, "501_7", "Kiedy dotrze zamówienie 4471?", now - timedelta(hours=2))
        graph.comment(
            post,
            "501_8",
            "Sprawdzamy!",
            now - timedelta(hours=1),
            author=("1234567890", "Zakupowo.pl"),
            parent="501_7",
        )
        config = {
            "brands": [
                {
                    "name": "zakupowo",
                    "rule": RULE,
                    "facebook": {"page_id": "1234567890", "token_env": "PAGE_TOKEN"},
                }
            ],
            "collectors": {"facebook": {"api_url": graph.url, "page_size": 1}},
        }
        done = run(config, tmp_path, "pages", {"PAGE_TOKEN": graph_api.TOKEN})
    assert done.returncode == 0, done.stderr
    found = records(done.stdout)
    # none of these words match the rule: what is addressed to the brand is never dropped by it
    assert [(m.native_id, m.parent_id, m.thread_id, m.from_brand) for m in found] == [
        (post, None, None, True),
        ("501_7", post, post, False),
        ("501_8", "501_7", post, True),
    ]
    assert graph_api.TOKEN not in done.stdout + done.stderr
    assert "facebook-zakupowo: fetched 3, published 3" in done.stderr


def test_search_prints_what_the_rule_keeps(tmp_path: Path) -> None:
    now = utc_now()
    with x_api.FakeX() as x:
        x.user("100", "kasia_w", followers=1830)
        kept = x.post(now - timedelta(hours=2), "@zakupowo trzeci dzień czekam na zwrot", "100")
        x.post(now - timedelta(hours=1), "zakupowo GIVEAWAY, oznacz znajomego", "100", sequence=1)
        config = {
            "brands": [{"name": "zakupowo", "rule": RULE, "x": {}}],
            "collectors": {"x": {"api_url": x.url}},
        }
        done = run(config, tmp_path, "search", {"X_BEARER_TOKEN": x_api.TOKEN})
        queries = [r["query"] for r in x.searches()]
    assert done.returncode == 0, done.stderr
    found = records(done.stdout)
    assert [(m.native_id, m.author.followers, m.source.value) for m in found] == [(kept, 1830, "search")]
    assert "dropped rule 1" in done.stderr
    assert queries and all("giveaway" not in q or "-giveaway" in q for q in queries)
    assert x_api.TOKEN not in done.stdout + done.stderr


def test_feeds_prints_each_matching_entry_once(tmp_path: Path) -> None:
    now = utc_now()
    with FeedServer() as server:
        items = [
            Item(
                "t-1",
                "Zakupowo: paczka zgubiona",
                "<p>Reklamacja <b>odrzucona</b></p>",
                "https://forum.example/t/1",
                now,
            ),
            Item("t-2", "Inny sklep", "nic o nas", "https://forum.example/t/2", now),
        ]
        server.serve("/brand.rss", rss(items), etag='"v1"')
        config = {"brands": [{"name": "zakupowo", "rule": RULE, "feeds": [server.url("/brand.rss")]}]}
        done = run(config, tmp_path, "feeds", {})
    assert done.returncode == 0, done.stderr
    found = records(done.stdout)
    assert len(found) == 1 and found[0].url == "https://forum.example/t/1"
    assert "Reklamacja odrzucona" in found[0].text and "<b>" not in found[0].text


def test_a_missing_token_is_one_line_and_exit_2(tmp_path: Path) -> None:
    config = {
        "brands": [
            {"name": "zakupowo", "rule": RULE, "facebook": {"page_id": "1", "token_env": "NOT_SET_ANYWHERE"}}
        ]
    }
    done = run(config, tmp_path, "pages", {})
    assert done.returncode == 2
    assert done.stderr == (
        "flarewatch: error: page token of zakupowo: environment variable NOT_SET_ANYWHERE is not set\n"
    )


def test_a_long_running_collector_serves_its_metrics_per_source(tmp_path: Path) -> None:
    from streams.devstack.embedded import free_port

    now = utc_now()
    port = free_port()
    with graph_api.FakeGraph(page_id="1234567890") as graph:
        graph.post("1234567890_501", "Od dziś dostawa w 24h!", now - timedelta(hours=3))
        graph.comment("1234567890_501", "501_7", "Kiedy dotrze zamówienie?", now - timedelta(hours=2))
        graph.usage["X-App-Usage"] = {"call_count": 76, "total_cputime": 10, "total_time": 10}
        path = tmp_path / "flarewatch.yaml"
        page = {"page_id": "1234567890", "token_env": "PAGE_TOKEN", "messenger": False}
        config = {
            "brands": [{"name": "zakupowo", "rule": RULE, "facebook": page}],
            "collectors": {"facebook": {"api_url": graph.url}, "poll_interval_s": 1},
        }
        path.write_text(yaml.safe_dump(config))
        command = [sys.executable, "-m", "streams", "--config", str(path), "collect", "pages"]
        env = os.environ | {"PAGE_TOKEN": graph_api.TOKEN}
        child = subprocess.Popen(
            [*command, "--output", str(tmp_path / "out.jsonl"), "--metrics-port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        try:
            text = _metrics_when(
                port, 'flarewatch_collector_published_total{source="facebook-zakupowo"} 2.0', child
            )
        finally:
            child.terminate()
            child.wait(20)
    assert 'flarewatch_collector_fetched_total{source="facebook-zakupowo"}' in text
    assert 'flarewatch_collector_rate_limit_waits_total{source="facebook-zakupowo"}' in text
    assert 'flarewatch_collector_lag_seconds{source="facebook-zakupowo"}' in text
    assert graph_api.TOKEN not in text


def _metrics_when(port: int, line: str, child: subprocess.Popen[bytes]) -> str:
    import time
    import urllib.request

    deadline, text = time.monotonic() + 60, ""
    while line not in text:
        assert child.poll() is None and time.monotonic() < deadline, text[-2000:]
        time.sleep(0.3)
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
                text = answer.read().decode()
        except OSError:
            continue
    return text

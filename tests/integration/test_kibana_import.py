"""``flarewatch kibana import`` against a real HTTP server that answers like Kibana's saved objects
import API: what is sent (path, overwrite, kbn-xsrf, credentials, the multipart file) and how
failures end (one line on stderr, a non-zero exit)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from click.testing import CliRunner, Result

from streams.cli.kibana import kibana
from streams.devstack.embedded import free_port

pytestmark = pytest.mark.integration

NO_CREDENTIALS = {
    "FLAREWATCH_ELASTICSEARCH__KIBANA_API_KEY": None,
    "FLAREWATCH_ELASTICSEARCH__KIBANA_USERNAME": None,
    "FLAREWATCH_ELASTICSEARCH__KIBANA_PASSWORD": None,
}


@dataclass(frozen=True)
class Request:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    filename: str | None
    file: bytes


class FakeKibana:
    """Records every request; answers ``status`` with ``body`` (JSON)."""

    def __init__(self, status: int = 200, body: Any = None) -> None:
        self.status, self.body = status, body
        self.requests: list[Request] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def _handle(self, request: web.Request) -> web.Response:
        form = await request.post()
        upload = form.get("file")
        filename, data = (
            (upload.filename, upload.file.read()) if isinstance(upload, web.FileField) else (None, b"")
        )
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.requests.append(Request(request.path, dict(request.query), headers, filename, data))
        body = self.body if self.body is not None else {"success": True, "successCount": data.count(b"\n")}
        return web.json_response(body, status=self.status)

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"

    def __enter__(self) -> FakeKibana:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        return self

    def __exit__(self, *_: object) -> None:
        assert self.runner is not None
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def exported() -> bytes:
    result = CliRunner().invoke(kibana, ["export"], catch_exceptions=False)
    assert result.exit_code == 0
    return result.stdout.encode()


def run(*args: str, **env: str | None) -> Result:
    return CliRunner().invoke(
        kibana, ["import", *args], env={**NO_CREDENTIALS, **env}, catch_exceptions=False
    )


@pytest.fixture
def kibana_ok() -> Iterator[FakeKibana]:
    with FakeKibana() as server:
        yield server


def test_import_posts_the_export_with_overwrite_xsrf_and_an_api_key(
    kibana_ok: FakeKibana, exported: bytes
) -> None:
    result = run("--url", kibana_ok.url + "/", FLAREWATCH_ELASTICSEARCH__KIBANA_API_KEY="a2V5OnNlY3JldA==")
    assert result.exit_code == 0, result.output
    (request,) = kibana_ok.requests
    assert request.path == "/api/saved_objects/_import"
    assert request.query == {"overwrite": "true"}
    assert request.headers["kbn-xsrf"] == "true"
    assert request.headers["authorization"] == "ApiKey a2V5OnNlY3JldA=="
    assert request.headers["content-type"].startswith("multipart/form-data")
    assert request.filename == "export.ndjson"
    assert request.file == exported
    assert result.stdout == f"imported {len(exported.splitlines())} saved objects\n"


def test_import_into_a_space_with_a_user(kibana_ok: FakeKibana) -> None:
    result = run(
        "--url", kibana_ok.url, "--space", "crisis-room",
        FLAREWATCH_ELASTICSEARCH__KIBANA_USERNAME="elastic", FLAREWATCH_ELASTICSEARCH__KIBANA_PASSWORD="changeme",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (request,) = kibana_ok.requests
    assert request.path == "/s/crisis-room/api/saved_objects/_import"
    assert request.headers["authorization"] == "Basic ZWxhc3RpYzpjaGFuZ2VtZQ=="
    assert run("--url", kibana_ok.url).exit_code == 0
    assert "authorization" not in kibana_ok.requests[-1].headers


def test_a_bad_space_is_refused_before_any_request(kibana_ok: FakeKibana) -> None:
    result = run("--url", kibana_ok.url, "--space", "Crisis Room")
    assert result.exit_code == 2
    assert kibana_ok.requests == []


def one_line_error(result: Result) -> str:
    assert result.exit_code != 0
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_an_http_error_is_one_line_and_a_failure() -> None:
    answer = {"statusCode": 400, "error": "Bad Request", "message": "Invalid file extension .txt"}
    with FakeKibana(400, answer) as server:
        line = one_line_error(run("--url", server.url))
    assert "HTTP 400" in line
    assert "Invalid file extension .txt" in line


def test_success_false_lists_the_errors() -> None:
    answer = {
        "success": False,
        "successCount": 12,
        "errors": [
            {"id": "x-lens", "type": "lens", "error": {"type": "missing_references", "references": []}},
            {"id": "x-board", "type": "dashboard", "error": {"type": "conflict"}},
        ],
    }
    with FakeKibana(200, answer) as server:
        line = one_line_error(run("--url", server.url))
    assert "lens/x-lens: missing_references" in line
    assert "dashboard/x-board: conflict" in line


def test_nobody_listening_is_one_line_and_a_failure() -> None:
    line = one_line_error(run("--url", f"http://127.0.0.1:{free_port()}"))
    assert "cannot reach Kibana" in line


def test_a_success_that_is_not_json_is_a_failure() -> None:
    with FakeKibana(200, "ok") as server:
        line = one_line_error(run("--url", server.url))
    assert "HTTP 200 with no JSON object" in line

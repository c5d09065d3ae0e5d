"""``flarewatch rules test RULE [FILE]``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from streams.cli.main import cli

FLAREWATCH = Path(sys.executable).parent / "flarewatch"
RULE = 'orlen AND (paczka OR "nie działa") NOT giveaway*'


def _run(*args: str, stdin: str = "") -> tuple[int, list[dict[str, object]], str]:
    result = CliRunner().invoke(cli, ["rules", "test", *args], input=stdin)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    return result.exit_code, lines, result.stderr


def test_plain_lines_from_stdin_in_order() -> None:
    code, lines, _ = _run(RULE, stdin="Orlen: nie DZIAŁA\n\nORLEN giveaway paczka\npaczka\n")
    assert code == 0
    assert lines == [
        {"text": "Orlen: nie DZIAŁA", "match": True},
        {"text": "ORLEN giveaway paczka", "match": False},
        {"text": "paczka", "match": False},
    ]


def test_json_lines_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "texts.jsonl"
    path.write_text(
        '{"id": 1, "text": "orlen paczka"}\nzwykły tekst orlen\n  {"text": "x"}\n', encoding="utf-8"
    )
    code, lines, _ = _run(RULE, str(path))
    assert code == 0
    assert lines == [
        {"text": "orlen paczka", "match": True},
        {"text": "zwykły tekst orlen", "match": False},
        {"text": "x", "match": False},
    ]


def test_bad_rule_is_one_line_with_the_column_and_exit_2() -> None:
    code, lines, err = _run("orlen AND (paczka))", stdin="orlen\n")
    assert (code, lines) == (2, [])
    assert err == "flarewatch: error: rule: unexpected ')' at column 19\n"


def test_bad_lines_name_the_line_and_exit_2() -> None:
    code, lines, err = _run("orlen", stdin='orlen\n{"text": \n')
    assert code == 2 and lines == [{"text": "orlen", "match": True}]
    assert err.startswith("flarewatch: error: line 2: invalid JSON: ") and err.count("\n") == 1
    code, _, err = _run("orlen", stdin='{"text": 5}\n')
    assert code == 2 and err == 'flarewatch: error: line 1: no "text" string\n'
    code, _, err = _run("orlen", stdin="{}\n")
    assert code == 2 and err == 'flarewatch: error: line 1: no "text" string\n'


def test_installed_command_with_a_bad_rule() -> None:
    done = subprocess.run(
        [str(FLAREWATCH), "rules", "test", '"nie działa'],
        input="x\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == "flarewatch: error: rule: unterminated phrase at column 1\n"


def test_a_file_that_is_not_utf8_names_the_line_and_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "texts.txt"
    path.write_bytes(b"orlen ok\n\xff\xfe broken\n")
    code, _, err = _run("orlen", str(path))
    assert code == 2
    assert err.startswith("flarewatch: error: after line ") and err.endswith("not UTF-8 text\n")

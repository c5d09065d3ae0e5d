"""``flarewatch search --rule``: a rule that does not parse stops the command before it connects
(the search itself is tested against the real search server in
tests/integration/test_rules_search.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from streams.cli.main import cli


def test_a_rule_with_a_syntax_error_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "flarewatch.yaml"
    config.write_text("elasticsearch:\n  url: http://127.0.0.1:9\n", encoding="utf-8")
    runner = CliRunner()
    for rule, error in [
        ('zamów* NEAR/2 "nie działa', "unterminated phrase at column 15"),
        ("orlen AND (paczka))", "unexpected ')' at column 19"),
        ("orlen OR", "unexpected end of rule at column 9"),
        ("  ", "empty rule at column 1"),
    ]:
        result = runner.invoke(cli, ["--config", str(config), "search", "--rule", rule, "--brand", "x"])
        assert (result.exit_code, result.stdout) == (2, ""), result.output
        assert result.stderr == f"flarewatch: error: rule: {error}\n"


def test_help_documents_the_rule_option() -> None:
    result = CliRunner().invoke(cli, ["search", "--help"])
    assert result.exit_code == 0
    assert "--rule RULE" in result.stdout and "NEAR/n" in result.stdout and "exit code 2" in result.stdout

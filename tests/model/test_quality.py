"""The packaged model against the issue's bars, through the commands users run:
``flarewatch model check --json`` (the behavioural suite) and ``flarewatch model evaluate --json``
(the test split, with calibration)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from streams.cli.main import cli

pytestmark = pytest.mark.model

LANGS = ("pl", "hu", "en")


@pytest.fixture(scope="module")
def check() -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["model", "check", "--json", "--strict"])
    document: dict[str, Any] = json.loads(result.stdout)
    assert result.exit_code == (0 if document["passed"]["all"] else 1)
    return document


def test_behavioural_suite_reports_every_capability_and_language(check: dict[str, Any]) -> None:
    assert set(check["mft"]) == {
        "sarcasm",
        "contrast",
        "staff_experience",
        "polite_question",
        "emoji",
        "threat_to_leave",
        "off_topic",
        "negation",
        "no_diacritics",
        "typos",
        "mixed_language",
        "spam",
        "brand_reply",
    }
    assert all(set(cells) == set(LANGS) for cells in check["mft"].values())
    assert all(cell["cases"] >= 20 for cells in check["mft"].values() for cell in cells.values())
    assert check["overall"]["inv"]["cases"] > 2000
    assert set(check["invariance_by_perturbation"]) == {"no_diacritics", "brand_swap", "unrelated_emoji"}
    worst = max(cell["rate"] for cells in check["mft"].values() for cell in cells.values())
    assert check["passed"]["mft"] == (worst <= 0.10)
    assert check["passed"]["inv"] == (check["overall"]["inv"]["rate"] <= 0.05)


def test_behavioural_suite_does_not_regress(check: dict[str, Any]) -> None:
    """A floor under the shipped model's figures under the default runtime (``378935fb81``: 6.5%
    of minimum-functionality cases failed, 3.7% of invariance cases changed, 1.0% of directional
    cases failed): retraining must not undo them. The issue's bar (10% in every cell) is not met
    yet: sarcasm and a few Hungarian cells miss it."""
    assert check["overall"]["mft"]["rate"] <= 0.08
    assert check["overall"]["inv"]["rate"] <= 0.05
    assert check["overall"]["dir"]["rate"] <= 0.03


def test_test_split_per_language_with_calibrated_scores(tmp_path: Path) -> None:
    out = tmp_path / "evaluation.json"
    result = CliRunner().invoke(cli, ["model", "evaluate", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "compl.ECE" in result.stdout
    languages = json.loads(out.read_text())["languages"]
    for lang in LANGS:
        report = languages[lang]
        assert report["size"] == 300
        assert report["sentiment_macro_f1"] >= 0.92, lang
        assert report["complaint_f1"] >= 0.92, lang
        assert report["complaint_ece"] <= 0.05 and report["sentiment_ece"] <= 0.05, lang
    assert languages["all"]["complaint_ece"] <= 0.05
    assert languages["all"]["sentiment_ece"] <= 0.05

from pathlib import Path

import pytest

from models.runtime import Runtime
from streams.config.settings import SettingsError, load_settings


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_settings()
    assert s.scoring.runtime is Runtime.ONNX and s.scoring.max_length == 128


def test_precedence_override_env_yaml(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "flarewatch.yaml"
    config.write_text("scoring:\n  threads: 3\n  max_length: 64\n")
    assert load_settings(config).scoring.threads == 3
    monkeypatch.setenv("FLAREWATCH_SCORING__THREADS", "1")
    s = load_settings(config)
    assert (s.scoring.threads, s.scoring.max_length) == (1, 64)
    s = load_settings(config, scoring={"threads": 4})
    assert (s.scoring.threads, s.scoring.max_length) == (4, 64)


def test_config_file_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "c.yaml"
    config.write_text("scoring:\n  batch_size: 8\n")
    monkeypatch.setenv("FLAREWATCH_CONFIG", str(config))
    assert load_settings().scoring.batch_size == 8


def test_every_problem_is_listed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "bad.yaml"
    config.write_text(
        "scoring:\n  threads: 0\n  runtime: tensorflow\n  hf_label_map: {LABEL_0: angry}\n  typo: 1\n"
    )
    with pytest.raises(SettingsError) as err:
        load_settings(config)
    message = str(err.value)
    for field in ("scoring.threads", "scoring.runtime", "scoring.hf_label_map", "scoring.typo"):
        assert field in message


@pytest.mark.parametrize(("content", "message"), [("scoring: [", "not valid YAML"), ("- 1\n", "mapping")])
def test_bad_yaml(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, content: str, message: str) -> None:
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "c.yaml"
    config.write_text(content)
    with pytest.raises(SettingsError, match=message):
        load_settings(config)


def test_missing_config_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SettingsError, match="cannot read config file"):
        load_settings(tmp_path / "nope.yaml")


def test_scoring_settings_reach_the_scorer_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from streams.config.scoring import scorer_config

    monkeypatch.chdir(tmp_path)
    s = load_settings(scoring={"threads": 3, "lanes": False, "max_length": 96, "batch_size": 32})
    encoder = scorer_config(s).encoder
    assert (encoder.threads, encoder.lanes, encoder.max_length, encoder.max_batch) == (3, False, 96, 32)
    assert scorer_config(load_settings()).encoder.lanes is True

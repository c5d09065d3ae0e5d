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


def test_incidents_and_notify_sections_come_from_the_same_yaml(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "flarewatch.yaml"
    config.write_text(
        "incidents:\n"
        "  reopen_within_minutes: 30\n"
        "  silences:\n"
        "    - {brand: zakupowo, category: delivery, until: '2026-11-20T18:00:00Z'}\n"
        "notify:\n"
        "  notifiers:\n"
        "    - {name: oncall, type: webhook, url: 'http://127.0.0.1:9/hook', secret_env: HOOK_SECRET}\n"
        "  routes:\n"
        "    - {notifiers: [oncall], min_severity: warning}\n"
    )
    s = load_settings(config)
    (silence,) = s.incidents.silences
    assert (silence.brand, silence.category, silence.until.hour) == ("zakupowo", "delivery", 18)
    assert s.incidents.reopen_within.total_seconds() == 1800 and s.incidents.growth_factor == 2.0
    assert s.incidents.active_silences(silence.until) == ()
    assert s.incidents.lifecycle().reopen_within.total_seconds() == 1800
    (rule,) = s.incidents.silence_rules()
    assert (rule.brand, rule.category, rule.until) == ("zakupowo", "delivery", silence.until)
    assert [n.name for n in s.notify.notifiers] == ["oncall"] and s.notify.routes[0].min_severity == "warning"


def test_a_silence_needs_a_timezone_and_secrets_stay_out_of_the_yaml(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SettingsError, match=r"incidents.silences.0.until"):
        load_settings(None, incidents={"silences": [{"brand": "a", "until": "2026-11-20T18:00:00"}]})
    with pytest.raises(SettingsError, match="secrets do not belong in the configuration"):
        load_settings(None, notify={"notifiers": [{"name": "a", "type": "webhook", "secret": "whsec_x"}]})


def test_a_gpu_device_needs_the_torch_runtime_and_reaches_the_encoder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from streams.config.scoring import scorer_config

    monkeypatch.chdir(tmp_path)
    assert scorer_config(load_settings()).encoder.device == "cpu"
    s = load_settings(scoring={"runtime": "torch", "quantization": "none", "device": "cuda:1"})
    assert scorer_config(s).encoder.device == "cuda:1"
    with pytest.raises(SettingsError, match="runtime: torch"):
        load_settings(scoring={"device": "cuda"})
    with pytest.raises(SettingsError, match=r"scoring\.device"):
        load_settings(scoring={"runtime": "torch", "quantization": "none", "device": "tpu"})

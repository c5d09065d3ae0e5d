"""A command that cannot reach the broker or the search server says so in one line, exit 1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from elastic_transport import ConnectionError as SearchConnectionError
from kafka.errors import KafkaTimeoutError

from streams.cli.main import cli, server_error


def test_client_errors_of_the_broker_and_the_search_server_are_server_errors() -> None:
    assert server_error(SearchConnectionError("refused"))
    assert server_error(KafkaTimeoutError("no broker"))
    assert not server_error(ValueError("a bug"))
    assert not server_error(KeyError("a bug"))


def test_an_unreachable_search_server_gives_one_line_and_exit_1(tmp_path: Path) -> None:
    """Run where there is no ``.flarewatch/demo`` to fall back to (``search`` reads the demo's
    data when the configured server does not answer and a demo ran in the current folder)."""
    env = dict(os.environ, FLAREWATCH_ELASTICSEARCH__URL="http://127.0.0.1:1")
    result = subprocess.run(
        [sys.executable, "-m", "streams", "search", "blik"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("flarewatch: error: ConnectionError:"), result.stderr
    assert "Traceback" not in result.stderr


def test_training_adapters_above_the_kept_layers_is_refused_before_any_work() -> None:
    result = CliRunner().invoke(cli, ["model", "train", "--layers", "5", "--adapt-from", "6"])
    assert result.exit_code == 2
    assert "6 is above --layers 5" in result.output


def test_a_full_learning_rate_of_zero_is_refused_before_any_work() -> None:
    result = CliRunner().invoke(cli, ["model", "train", "--full", "--full-lr", "0"])
    assert result.exit_code == 2
    assert "'--full-lr'" in result.output and "0<x<=0.01" in result.output


def test_a_teacher_folder_without_an_artifact_fails_in_one_line_before_the_encoder_loads(
    tmp_path: Path,
) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "streams",
            "model",
            "train",
            "--teacher",
            str(tmp_path),
            "--output",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"--teacher {tmp_path}: not a trained artifact folder" in lines[0], (
        result.stderr
    )
    assert "encoder" not in result.stderr and not (tmp_path / "out").exists()


def test_training_on_a_device_this_machine_lacks_fails_in_one_line_before_anything_loads(
    tmp_path: Path,
) -> None:
    """``cuda:64`` is missing on a machine without a GPU and on one with fewer than 65 alike."""
    for device, reason in (("cuda:64", "device cuda:64: PyTorch sees"), ("tpu", "unknown device 'tpu'")):
        out = tmp_path / device
        result = subprocess.run(
            [sys.executable, "-m", "streams", "model", "train", "--device", device, "--output", str(out)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"flarewatch: error: {reason}"), result.stderr
        assert "encoder" not in result.stderr and not out.exists()

"""The PyTorch runtime on a chosen device: the GPU path's checks and its benchmark, run on the CPU
(the tests never need a GPU; ``bench/bench_scoring.py --device cuda`` measures one when lent)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from models import torch_encoder
from models.encoder import EncoderOptions
from models.errors import EncoderUnavailable
from models.loading import ScorerConfig, build_scorer
from models.quantization import Quantization
from models.runtime import Runtime

ROOT = Path(__file__).resolve().parents[2]


def test_the_onnx_runtime_refuses_a_gpu_device(scorer_config: ScorerConfig) -> None:
    with pytest.raises(ValueError, match="needs the torch runtime"):
        dataclasses.replace(scorer_config, encoder=EncoderOptions(device="cuda"))


def _missing_gpu() -> str:
    """``cuda`` where PyTorch sees no GPU, else the index one past the last."""
    return f"cuda:{torch.cuda.device_count()}" if torch.cuda.is_available() else "cuda"


@pytest.mark.parametrize("device", ["cuda", "tpu"])
def test_a_device_this_process_cannot_use_is_a_one_line_error(
    scorer_config: ScorerConfig, device: str
) -> None:
    device = _missing_gpu() if device == "cuda" else device
    config = dataclasses.replace(
        scorer_config,
        runtime=Runtime.TORCH,
        quantization=Quantization.NONE,
        encoder=EncoderOptions(device=device),
    )
    with pytest.raises(EncoderUnavailable) as caught:
        build_scorer(config)
    assert device.split(":")[0] in str(caught.value) and "\n" not in str(caught.value)


def test_the_device_is_checked_before_the_weights_load(
    scorer_config: ScorerConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded: list[Path] = []
    monkeypatch.setattr(torch_encoder, "load_bert", lambda model_dir, *_: loaded.append(model_dir))
    config = dataclasses.replace(
        scorer_config,
        runtime=Runtime.TORCH,
        quantization=Quantization.NONE,
        encoder=EncoderOptions(device=_missing_gpu()),
    )
    with pytest.raises(EncoderUnavailable, match="cuda"):
        build_scorer(config)
    assert loaded == []


def test_the_device_benchmark_times_three_batch_sizes_and_checks_its_labels() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "bench_scoring.py"),
            "--device",
            "cpu",
            "--device-texts",
            "300",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    out = done.stdout
    for batch in (64, 256, 1024):
        assert f"batch {batch:>5}:" in out
    # The same fp32 model on the same device as the reference: every label the same.
    assert "label agreement with fp32 on the CPU, test split (900 texts): sentiment 100.00%" in out
    assert "PASS  agreement >= 98% on every label" in out
    assert "MISS  cpu >= 5,000 texts/s" in out  # 2 CPU cores in fp32 are far from a GPU's target


def test_the_device_benchmark_names_a_missing_gpu_in_one_line() -> None:
    device = _missing_gpu()
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_scoring.py"), "--device", device],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode != 0
    assert done.stderr.strip().splitlines()[-1].startswith(f"bench_scoring: device {device}: PyTorch sees ")

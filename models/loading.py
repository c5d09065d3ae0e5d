"""Assemble a :class:`Scorer` from a config: the one place that knows every model part."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from models import artifact as artifacts
from models.backends import Backend, E5Backend
from models.e5.cache import ensure_encoder
from models.encoder import Encoder, EncoderOptions, load_tokenizer
from models.language import DetectionOptions, LanguageDetector
from models.quantization import Quantization, calibrated
from models.runtime import Runtime
from models.scorer import Scorer

if TYPE_CHECKING:
    from models.corpus import Example
    from models.onnx_export import Calibration
    from models.torch_encoder import FeatureModel

Log = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class ScorerConfig:
    cache_dir: Path
    runtime: Runtime = Runtime.ONNX
    quantization: Quantization = Quantization.INT8_PER_TOKEN_FFN
    encoder: EncoderOptions = field(default_factory=EncoderOptions)
    artifact_dir: Path = artifacts.PACKAGED
    detection: DetectionOptions = field(default_factory=DetectionOptions)
    hf_model_dir: Path | None = None
    """Use this local Hugging Face sequence-classification model for sentiment."""
    hf_label_map: tuple[tuple[str, str], ...] = field(default=())
    """(model label, sentiment) pairs for ``hf_model_dir``."""
    prune_vocabulary: bool = True
    """ONNX Runtime: keep only the vocabulary pieces Polish, Hungarian and English use
    (:mod:`models.vocabulary`): about 450 MB less memory."""
    uncertain_below: float = 0.6
    """Scores whose confidence (the lower of the top sentiment probability and the probability of
    the complaint decision) is below this are marked ``uncertain``; 0 turns it off."""

    def __post_init__(self) -> None:
        if self.runtime is Runtime.TORCH and self.quantization is not Quantization.NONE:
            raise ValueError("the torch runtime is the fp32 reference: use quantization 'none'")
        if self.encoder.device != "cpu" and self.runtime is not Runtime.TORCH:
            raise ValueError(f"device {self.encoder.device} needs the torch runtime (ONNX runs on the CPU)")


def build_scorer(config: ScorerConfig, log: Log = lambda _: None) -> Scorer:
    """Load (building caches on first use) everything the config names. Blocks for seconds."""
    backend: Backend = build_e5_backend(config, log)
    if config.hf_model_dir is not None:
        from models.hf_backend import HFSequenceClassificationBackend

        backend = HFSequenceClassificationBackend(
            config.hf_model_dir, dict(config.hf_label_map), fallback=backend
        )
    return Scorer(backend, LanguageDetector(config.detection), uncertain_below=config.uncertain_below)


@functools.lru_cache(maxsize=2)
def shared_scorer(config: ScorerConfig) -> Scorer:
    """The process-wide scorer for ``config``: the model is loaded once per process."""
    return build_scorer(config)


def build_e5_backend(config: ScorerConfig, log: Log = lambda _: None) -> E5Backend:
    trained = artifacts.load(config.artifact_dir)
    return E5Backend(build_encoder(config, trained, log), trained.heads, _model_id(config, trained))


def build_encoder(config: ScorerConfig, trained: artifacts.Artifact, log: Log) -> Encoder:
    encoder_dir = ensure_encoder(config.cache_dir, log)
    dim = trained.spec.feature_dim(_hidden_size(encoder_dir))

    def feature_model() -> FeatureModel:
        from models.torch_encoder import FeatureModel, load_bert

        bert = load_bert(encoder_dir, trained.spec, trained.deltas)
        return FeatureModel(bert, trained.spec.feature_layers)

    if config.runtime is Runtime.TORCH:
        from models.torch_encoder import TorchEncoder, torch_device

        torch_device(config.encoder.device)
        return TorchEncoder(load_tokenizer(encoder_dir), feature_model(), trained.spec, config.encoder)
    from models.onnx_encoder import OnnxEncoder
    from models.onnx_export import ensure_onnx

    calibration = None
    if calibrated(config.quantization):
        calibration = calibration_set(trained, config.encoder.max_length)

    identity = {"encoder": encoder_dir.name, "artifact": trained.version}
    model_file = ensure_onnx(
        feature_model,
        config.cache_dir,
        identity,
        config.quantization,
        encoder_dir,
        log,
        prune_vocabulary=config.prune_vocabulary,
        calibration=calibration,
    )
    tokenizer = load_tokenizer(model_file.parent)
    return OnnxEncoder(tokenizer, model_file, trained.spec, config.encoder, dim)


CALIBRATION_TEXTS = 512
"""Training texts whose activations set the SmoothQuant scales (``int8-smooth-ffn-up`` and
``int8-per-token-ffn``)."""


def calibration_set(trained: artifacts.Artifact, max_length: int) -> Calibration:
    """The texts stored with the weights (``int8_calibration.json``); for a folder written without
    them, the training split's as :func:`calibration_texts` picks them, which move with the corpus."""
    from models.corpus import Split, load_split
    from models.onnx_export import Calibration

    texts = trained.int8_calibration
    if texts is None:
        texts = calibration_texts(load_split(Split.TRAIN))
    return Calibration(texts, trained.spec, max_length)


def calibration_texts(examples: Sequence[Example]) -> tuple[str, ...]:
    """Every n-th training mention by id, ``CALIBRATION_TEXTS`` of them: the same texts for the
    same corpus, all three languages and every kind of mention."""
    ordered = sorted(examples, key=lambda ex: ex.id)
    step = max(1, len(ordered) // CALIBRATION_TEXTS)
    return tuple(ex.text for ex in ordered[::step][:CALIBRATION_TEXTS])


def _hidden_size(encoder_dir: Path) -> int:
    import json

    return int(json.loads((encoder_dir / "config.json").read_text())["hidden_size"])


def _model_id(config: ScorerConfig, trained: artifacts.Artifact) -> str:
    if config.runtime is Runtime.TORCH:
        return f"{trained.model_id}/torch-fp32"
    return f"{trained.model_id}/onnx-{config.quantization.value}"

"""Scoring: runtime, threads, batch and length limits, caches; and the settings turned into the
pure scorer configuration that ``models`` understands."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from models.language import DEFAULT_CANDIDATES
from models.quantization import Quantization
from models.runtime import Runtime

if TYPE_CHECKING:
    from models.loading import ScorerConfig
    from streams.config.settings import Settings


def default_cache_dir() -> Path:
    return Path.home() / ".cache" / "flarewatch"


class ScoringSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    runtime: Runtime = Runtime.ONNX
    quantization: Quantization = Quantization.INT8_PER_TOKEN_FFN
    threads: int | None = Field(default=None, ge=1, le=256)
    """Inference threads; None: one per core this process may use."""
    lanes: bool = True
    """ONNX: sub-batches side by side, one thread each (False: one at a time, intra-op threads)."""
    memory_arena: bool = False
    """ONNX: keep activation memory in ONNX Runtime's arena between batches (about 90 MiB more
    held, about 1% faster)."""
    max_length: int = Field(default=128, ge=16, le=512)
    batch_size: int = Field(default=64, ge=1, le=1024)
    cache_dir: Path = Field(default_factory=default_cache_dir)
    """Where the rebuilt encoder and its ONNX export are cached (outside git)."""
    prune_vocabulary: bool = True
    """ONNX: keep only the vocabulary pieces Polish, Hungarian and English use (about 97,000 of
    250,002): the same labels, about 450 MB less memory."""
    hf_model_dir: Path | None = None
    """A local Hugging Face sequence-classification model that replaces the sentiment head."""
    hf_label_map: dict[str, str] = Field(default_factory=dict)
    """The plug-in model's label names mapped to negative/neutral/positive."""
    uncertain_below: float = Field(default=0.6, ge=0.0, le=1.0)
    """A mention whose confidence (the lower of its top sentiment probability and the probability
    of its complaint decision) is below this is still scored, and marked ``uncertain`` for the
    crisis room to review; 0 turns the mark off."""
    detection_candidates: tuple[str, ...] = DEFAULT_CANDIDATES
    detection_high_accuracy: bool = True
    device: str = Field(default="cpu", pattern=r"^(cpu|cuda(:[0-9]+)?)$")
    """Where the model runs: ``cpu``, or ``cuda`` (``cuda:N``) with ``runtime: torch`` and
    ``quantization: none``: the same model in half precision on an NVIDIA GPU."""

    @field_validator("hf_label_map")
    @classmethod
    def _label_targets(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted({v for v in value.values() if v not in ("negative", "neutral", "positive")})
        if bad:
            raise ValueError(f"targets must be negative, neutral or positive, not {', '.join(bad)}")
        return value

    @model_validator(mode="after")
    def _device_needs_torch(self) -> ScoringSettings:
        if self.device != "cpu" and (
            self.runtime is not Runtime.TORCH or self.quantization is not Quantization.NONE
        ):
            raise ValueError(
                f"device {self.device} needs runtime: torch and quantization: none "
                "(the ONNX runtime runs on the CPU)"
            )
        return self


def scorer_config(settings: Settings) -> ScorerConfig:
    """The pure scorer configuration ``models`` understands (imports the model code: slow)."""
    from models.encoder import EncoderOptions
    from models.language import DetectionOptions
    from models.loading import ScorerConfig

    s = settings.scoring
    return ScorerConfig(
        cache_dir=s.cache_dir,
        runtime=s.runtime,
        quantization=s.quantization,
        encoder=EncoderOptions(
            threads=s.threads,
            max_length=s.max_length,
            max_batch=s.batch_size,
            lanes=s.lanes,
            memory_arena=s.memory_arena,
            device=s.device,
        ),
        detection=DetectionOptions(
            candidates=s.detection_candidates, high_accuracy=s.detection_high_accuracy
        ),
        prune_vocabulary=s.prune_vocabulary,
        hf_model_dir=s.hf_model_dir,
        hf_label_map=tuple(sorted(s.hf_label_map.items())),
        uncertain_below=s.uncertain_below,
    )

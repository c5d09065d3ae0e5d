"""The PyTorch side of the encoder: the adapted BertModel, the feature model and the fp32 reference.

Training, the ONNX export and the fp32 reference use it; scoring through ONNX Runtime does not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy.typing as npt
import torch
from tokenizers import Tokenizer
from torch import nn
from transformers import AutoTokenizer, BertModel, PreTrainedTokenizerBase
from transformers.utils import logging as hf_logging

from models import adapters
from models.encoder import Encoder, EncoderOptions, EncoderSpec, Floats, Ints

Tensorish = torch.Tensor | npt.NDArray[Any]


def quiet_transformers() -> None:
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def load_hf_tokenizer(model_dir: Path) -> PreTrainedTokenizerBase:
    """The ``transformers`` tokenizer, for training and the per-text baseline."""
    quiet_transformers()
    tokenizer: PreTrainedTokenizerBase = AutoTokenizer.from_pretrained(model_dir)
    return tokenizer


def load_bert(model_dir: Path, spec: EncoderSpec, deltas: Mapping[str, Tensorish] | None = None) -> BertModel:
    """The rebuilt encoder cut to ``spec.layers`` layers, with adapter deltas merged in."""
    quiet_transformers()
    model = BertModel.from_pretrained(model_dir, add_pooling_layer=False, attn_implementation="eager")
    if not 1 <= spec.layers <= len(model.encoder.layer):
        raise ValueError(f"encoder has {len(model.encoder.layer)} layers, spec wants {spec.layers}")
    model.encoder.layer = model.encoder.layer[: spec.layers]
    model.config.num_hidden_layers = spec.layers
    if deltas:
        adapters.merge(model, {k: torch.as_tensor(v) for k, v in deltas.items()})
    model.eval()
    return model


class FeatureModel(nn.Module):
    """``(input_ids, attention_mask) -> features``: mean pools of chosen layers, L2-normalised."""

    def __init__(self, bert: BertModel, feature_layers: Sequence[int]) -> None:
        super().__init__()
        self.bert = bert
        self.feature_layers = tuple(feature_layers)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        out = self.bert(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
        hidden = out.hidden_states
        return torch.cat([mean_pool(hidden[k], attention_mask) for k in self.feature_layers], 1)


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
    return nn.functional.normalize(pooled, dim=-1)


class TorchEncoder(Encoder):
    """The fp32 reference: plain PyTorch under ``torch.inference_mode``; on a GPU
    (``options.device``), the same model in half precision (autocast)."""

    def __init__(
        self,
        tokenizer: Tokenizer,
        model: FeatureModel,
        spec: EncoderSpec,
        options: EncoderOptions,
    ) -> None:
        super().__init__(tokenizer, spec, options)
        if options.threads:
            torch.set_num_threads(options.threads)
        self.device = torch_device(options.device)
        self.model = model.eval().to(self.device)
        self._dim = spec.feature_dim(int(model.bert.config.hidden_size))

    @property
    def dim(self) -> int:
        return self._dim

    def _run(self, input_ids: Ints, attention_mask: Ints) -> Floats:
        ids = torch.from_numpy(input_ids).to(self.device, non_blocking=True)
        mask = torch.from_numpy(attention_mask).to(self.device, non_blocking=True)
        half = self.device.type == "cuda"
        with torch.inference_mode(), torch.autocast(self.device.type, dtype=torch.float16, enabled=half):
            out = self.model(ids, mask)
        result: Floats = out.float().cpu().numpy()
        return result


def torch_device(name: str) -> torch.device:
    """``name`` as a device this process can use, or a one-line reason why not (checked before
    the weights load, so a missing GPU costs no load time)."""
    from models.errors import EncoderUnavailable

    try:
        device = torch.device(name)
    except RuntimeError as error:
        raise EncoderUnavailable(f"unknown device {name!r}: use cpu or cuda") from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise EncoderUnavailable(f"device {name}: PyTorch sees no CUDA GPU here (torch {torch.__version__})")
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise EncoderUnavailable(f"device {name}: PyTorch sees {torch.cuda.device_count()} CUDA GPUs here")
    if device.type not in ("cpu", "cuda"):
        raise EncoderUnavailable(f"device {name}: only cpu and cuda are supported")
    return device

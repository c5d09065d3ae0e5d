"""Low-rank adapters (LoRA) on the encoder's Linear layers: trained by us, merged at load time."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TypeVar

import torch
from torch import nn
from transformers import BertModel

TARGETS: tuple[str, ...] = (
    "attention.self.query",
    "attention.self.key",
    "attention.self.value",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
)


class LoRALinear(nn.Module):
    """``y = base(x) + scale * B(A(dropout(x)))``; ``base`` is frozen and ``B`` starts at zero."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float, dropout: float) -> None:
        super().__init__()
        self.base = base
        self.scale = alpha / rank
        self.a = nn.Parameter(torch.randn(rank, base.in_features) / math.sqrt(base.in_features))
        self.b = nn.Parameter(torch.zeros(base.out_features, rank))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        delta: torch.Tensor = (self.dropout(x) @ self.a.T) @ self.b.T
        base: torch.Tensor = self.base(x)
        return base + delta * self.scale

    def delta(self) -> torch.Tensor:
        product: torch.Tensor = self.b @ self.a
        return product * self.scale


class FullDelta(nn.Module):
    """``y = x (W + D)^T + b`` with ``W`` frozen and ``D`` trained from zero: full fine-tuning of
    the Linear, with the change kept apart so that it is saved as a delta like an adapter's."""

    def __init__(self, base: nn.Linear) -> None:
        super().__init__()
        self.base = base
        self.d = nn.Parameter(torch.zeros_like(base.weight))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x, self.base.weight + self.d, self.base.bias)


def attach_full(model: BertModel, first_layer: int) -> dict[str, FullDelta]:
    """Freeze ``model`` and make the target Linears of layers ``first_layer..`` fully trainable."""
    return _wrap(model, first_layer, FullDelta)


Wrapped = TypeVar("Wrapped", bound=nn.Module)


def _resolve(root: nn.Module, dotted: str) -> tuple[nn.Module, str]:
    *path, leaf = dotted.split(".")
    for part in path:
        root = getattr(root, part)
    return root, leaf


def attach(
    model: BertModel, first_layer: int, rank: int, alpha: float, dropout: float = 0.1
) -> dict[str, LoRALinear]:
    """Freeze ``model`` and wrap the target Linears of layers ``first_layer..`` with adapters."""
    return _wrap(model, first_layer, lambda base: LoRALinear(base, rank, alpha, dropout))


def _wrap(model: BertModel, first_layer: int, make: Callable[[nn.Linear], Wrapped]) -> dict[str, Wrapped]:
    """Freeze ``model`` and put ``make(linear)`` in place of each target Linear of layers
    ``first_layer..``; the wrappers by the Linear's dotted name."""
    for p in model.parameters():
        p.requires_grad = False
    out: dict[str, Wrapped] = {}
    for index in range(first_layer, len(model.encoder.layer)):
        for target in TARGETS:
            name = f"encoder.layer.{index}.{target}"
            parent, leaf = _resolve(model, name)
            base = getattr(parent, leaf)
            assert isinstance(base, nn.Linear)
            wrapped = make(base)
            setattr(parent, leaf, wrapped)
            out[name] = wrapped
    return out


def export_deltas(adapters: Mapping[str, LoRALinear | FullDelta]) -> dict[str, torch.Tensor]:
    """The trained factors, keyed ``<linear>.lora_a`` / ``.lora_b``; ``scale`` is folded into B.
    Full deltas are keyed ``<linear>.delta`` (fp16: half the size, far below int8's steps). On
    the CPU, wherever they were trained."""
    out: dict[str, torch.Tensor] = {}
    for name, module in adapters.items():
        if isinstance(module, FullDelta):
            out[f"{name}.delta"] = module.d.detach().to("cpu", torch.float16).contiguous()
            continue
        out[f"{name}.lora_a"] = module.a.detach().cpu().clone().contiguous()
        out[f"{name}.lora_b"] = (module.b.detach() * module.scale).cpu().contiguous()
    return out


@torch.no_grad()
def scale_deltas(adapters: Mapping[str, LoRALinear | FullDelta], share: float) -> None:
    """Multiply every trained change by ``share`` in place: ``share`` 1 keeps the fine-tuned
    layers, 0 gives back the pretrained ones, and in between lies their weight-space average."""
    if not share >= 0.0:
        raise ValueError("the share of the trained deltas must not be negative")
    for module in adapters.values():
        (module.d if isinstance(module, FullDelta) else module.b).mul_(share)


def detach(model: BertModel, adapters: dict[str, LoRALinear]) -> None:
    """Merge each adapter into its base Linear and put the plain Linear back."""
    for name, module in adapters.items():
        parent, leaf = _resolve(model, name)
        with torch.no_grad():
            module.base.weight += module.delta()
        setattr(parent, leaf, module.base)


def merge(model: BertModel, deltas: dict[str, torch.Tensor]) -> None:
    """Add saved low-rank deltas to the base weights in place (no runtime cost afterwards)."""
    names = {key.rsplit(".", 1)[0] for key in deltas}
    for name in sorted(names):
        parent, leaf = _resolve(model, name)
        linear = getattr(parent, leaf)
        if not isinstance(linear, nn.Linear):
            raise ValueError(f"adapter target {name} is not a Linear layer")
        if f"{name}.delta" in deltas:
            full = deltas[f"{name}.delta"].to(linear.weight.dtype)
            if tuple(full.shape) != tuple(linear.weight.shape):
                raise ValueError(f"delta {name} does not fit its layer")
            with torch.no_grad():
                linear.weight += full
            continue
        a, b = deltas[f"{name}.lora_a"], deltas[f"{name}.lora_b"]
        if (b.shape[0], a.shape[1]) != tuple(linear.weight.shape):
            raise ValueError(f"adapter {name} does not fit its layer")
        with torch.no_grad():
            linear.weight += b @ a

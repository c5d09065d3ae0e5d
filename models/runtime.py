"""Which inference runtime scores: a setting, light to import (no torch)."""

from __future__ import annotations

from enum import StrEnum


class Runtime(StrEnum):
    ONNX = "onnx"
    """ONNX Runtime with fused attention (the default)."""
    TORCH = "torch"
    """Plain PyTorch fp32: the reference the fast path is checked against."""

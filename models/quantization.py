"""Which parts of the ONNX encoder run in int8: chosen by measurement (see bench/).

Measured on the 8-layer adapted encoder (2 cores, AVX2): dynamic int8 with per-channel weights
on the fused attention and its output projection keeps >=99% of fp32 labels; the feed-forward
projections in int8 flip 2-4% of labels (ONNX Runtime quantises activations per tensor, so one
outlier token shifts the whole batch) and stay fp32.

Measured on the shipped 7-layer weights with ``bench/bench_scoring.py --also int8-attention-ffn-up``
(600 test-split texts, 2 threads, 4 Dec): the up-projection in int8 too is 1.24x the default at
batch 64 and keeps 98.44% / 98.67% / 98.22% of fp32's sentiment / complaint / category labels
(97.11% all three, against the default's 99.11%), so it is an option, not the default.

Blockwise: ONNX Runtime's ``MatMulNBits`` with 8-bit weights in blocks of 128 along the inner
dimension and ``accuracy_level`` 4 quantises each token's activations per block of 128 as well,
not per tensor, so one outlier token moves only its own blocks. On the feed-forward products that
per-tensor int8 could not keep, the encoder runs about 1.3x as fast as with ``int8-attention``
alone on 2 cores (raw encoder, batch 64, 5 Dec), with feature cosine >= 0.997 to it.

Per-token int8 on the feed-forward products (``int8-per-token-ffn``) is faster again and the
default since the weights ``75eda9efe0`` (6 Dec), the first to keep every test-split bar under it.
"""

from __future__ import annotations

from enum import StrEnum


class Quantization(StrEnum):
    NONE = "none"
    """Plain fp32."""
    INT8_ATTENTION = "int8-attention"
    """Dynamic int8 on the attention block (QKV + output projection); FFN stays fp32."""
    INT8_ATTENTION_FFN_UP = "int8-attention-ffn-up"
    """The attention block and the feed-forward up-projection (the widest product) in int8; the
    down-projection, whose input is the GELU's long-tailed output, stays fp32."""
    INT8_ATTENTION_BLOCKWISE_FFN = "int8-attention-blockwise-ffn"
    """The attention block in dynamic int8 as ``int8-attention``, and both feed-forward products
    in blockwise int8 (``MatMulNBits``: weights and activations quantised per block of 128). The
    default from 5 December 2026 to weights ``75eda9efe0``; closest to fp32 (99.33% of its labels
    on all three under those weights)."""
    INT8_SMOOTH_FFN_UP = "int8-smooth-ffn-up"
    """As ``int8-attention-blockwise-ffn``, but the feed-forward up-projection in dynamic int8
    after SmoothQuant (Xiao et al., 2023): each input channel divided by a scale calibrated on
    corpus texts and the weight's rows multiplied by it, the same product in exact arithmetic,
    with the activations' outlier channels tamed so that per-tensor int8 keeps them. Measured on
    6 December 2026 (weights ``0ec3079841``, 2 cores, ``bench/bench_scoring.py --also``): 1.26x
    the default at batch 64 with the same 99.00% agreement with fp32 on all three labels, but
    the labels it moves fall on Hungarian complaints (test-split complaint F1 0.915, under the
    0.92 bar), so it is an option, not the default."""
    INT8_PER_TOKEN_FFN = "int8-per-token-ffn"
    """The attention block in dynamic int8 as ``int8-attention``, and both feed-forward products
    in per-token int8 (ZeroQuant, Yao et al., 2022): each token's activations get their own
    scale, the weights one per output column, in ONNX Runtime's fused ``MatMulIntegerToFloat``.
    The up-projection's input channels are smoothed first as in ``int8-smooth-ffn-up``; the
    down-projection's input, a GELU's output, is shifted to be non-negative and quantised
    unsigned, twice as fine. Measured on 6 December 2026 (weights ``0ec3079841``, 2 cores,
    ``bench/bench_scoring.py --also``, three runs): 1.26-1.58x the default at batch 64 (778-954
    texts/s, 7.29-9.22x the per-text baseline) with the same 99.00% agreement with fp32 on all
    three labels (sentiment 99.89%), but under those weights it took test-split Hungarian
    complaint F1 from 0.923 to 0.918, under the 0.92 bar. The default since weights
    ``75eda9efe0`` (6 December 2026, fifth session), which keep every bar under it: 833 texts/s at
    batch 64, 1.41x the blockwise scheme and 8.21x the baseline in the same run, 98.78% of fp32's
    labels on all three."""
    INT8_ALL = "int8-all"
    """Dynamic int8 on every matrix product: fastest, but flips labels. Benchmarks only."""


def selects(scheme: Quantization, node_name: str, op_type: str) -> bool:
    """Whether ``scheme`` quantises this node of the optimised encoder graph."""
    if scheme is Quantization.NONE or op_type not in ("MatMul", "Attention"):
        return False
    if scheme is Quantization.INT8_ALL:
        return True
    attention = op_type == "Attention" or "/attention/output/" in node_name
    if scheme in (Quantization.INT8_ATTENTION_FFN_UP, Quantization.INT8_SMOOTH_FFN_UP):
        return attention or "/intermediate/" in node_name
    return attention


def selects_blockwise(scheme: Quantization, node_name: str, op_type: str) -> bool:
    """Whether ``scheme`` puts this node in blockwise int8 (after ``selects``' dynamic int8)."""
    if op_type != "MatMul":
        return False
    if scheme is Quantization.INT8_SMOOTH_FFN_UP:
        return _down(node_name)
    return scheme is Quantization.INT8_ATTENTION_BLOCKWISE_FFN and _feed_forward(node_name)


def selects_per_token(scheme: Quantization, node_name: str, op_type: str) -> bool:
    """Whether ``scheme`` puts this node in per-token int8 (the feed-forward products)."""
    return scheme is Quantization.INT8_PER_TOKEN_FFN and op_type == "MatMul" and _feed_forward(node_name)


def calibrated(scheme: Quantization) -> bool:
    """Whether ``scheme`` needs calibration texts (its SmoothQuant scales come from them)."""
    return scheme in (Quantization.INT8_SMOOTH_FFN_UP, Quantization.INT8_PER_TOKEN_FFN)


def smoothed(scheme: Quantization, node_name: str, op_type: str) -> bool:
    """Whether ``scheme`` scales this node's input channels before quantising it (SmoothQuant)."""
    return calibrated(scheme) and op_type == "MatMul" and "/intermediate/" in node_name


def _down(node_name: str) -> bool:
    """The feed-forward down-projection (``/output/``, as against ``/attention/output/``)."""
    return "/output/" in node_name and "/attention/" not in node_name


def _feed_forward(node_name: str) -> bool:
    return "/intermediate/" in node_name or _down(node_name)

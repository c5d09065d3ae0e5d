"""Which encoder nodes each quantization scheme puts in int8 (node names as the optimised graph
of the exported encoder has them)."""

from __future__ import annotations

import pytest

from models.quantization import Quantization, selects

NODES = [
    ("Attention_0", "Attention"),
    ("/bert/encoder/layer.0/attention/output/dense/MatMul", "MatMul"),
    ("/bert/encoder/layer.0/intermediate/dense/MatMul", "MatMul"),
    ("/bert/encoder/layer.0/output/dense/MatMul", "MatMul"),
    ("/bert/encoder/layer.0/output/LayerNorm/LayerNormalization", "LayerNormalization"),
]


@pytest.mark.parametrize(
    ("scheme", "expected"),
    [
        (Quantization.NONE, []),
        (Quantization.INT8_ATTENTION, [0, 1]),
        (Quantization.INT8_ATTENTION_FFN_UP, [0, 1, 2]),
        (Quantization.INT8_ALL, [0, 1, 2, 3]),
    ],
)
def test_each_scheme_selects_its_nodes_and_never_a_normalisation(
    scheme: Quantization, expected: list[int]
) -> None:
    chosen = [i for i, (name, op) in enumerate(NODES) if selects(scheme, name, op)]
    assert chosen == expected

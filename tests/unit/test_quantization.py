"""Which encoder nodes each quantization scheme puts in int8 (node names as the optimised graph
of the exported encoder has them)."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from models.onnx_export import _quantize_blockwise
from models.quantization import (
    Quantization,
    calibrated,
    selects,
    selects_blockwise,
    selects_per_token,
    smoothed,
)

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
        (Quantization.INT8_ATTENTION_BLOCKWISE_FFN, [0, 1]),
        (Quantization.INT8_SMOOTH_FFN_UP, [0, 1, 2]),
        (Quantization.INT8_PER_TOKEN_FFN, [0, 1]),
        (Quantization.INT8_ALL, [0, 1, 2, 3]),
    ],
)
def test_each_scheme_selects_its_nodes_and_never_a_normalisation(
    scheme: Quantization, expected: list[int]
) -> None:
    chosen = [i for i, (name, op) in enumerate(NODES) if selects(scheme, name, op)]
    assert chosen == expected


@pytest.mark.parametrize(
    ("scheme", "expected"),
    [
        (Quantization.NONE, []),
        (Quantization.INT8_ATTENTION, []),
        (Quantization.INT8_ATTENTION_FFN_UP, []),
        (Quantization.INT8_ATTENTION_BLOCKWISE_FFN, [2, 3]),
        (Quantization.INT8_SMOOTH_FFN_UP, [3]),
        (Quantization.INT8_PER_TOKEN_FFN, []),
        (Quantization.INT8_ALL, []),
    ],
)
def test_only_the_blockwise_scheme_puts_the_feed_forward_products_in_blockwise_int8(
    scheme: Quantization, expected: list[int]
) -> None:
    chosen = [i for i, (name, op) in enumerate(NODES) if selects_blockwise(scheme, name, op)]
    assert chosen == expected


def test_only_the_per_token_scheme_puts_both_feed_forward_products_in_per_token_int8() -> None:
    for scheme in Quantization:
        chosen = [i for i, (name, op) in enumerate(NODES) if selects_per_token(scheme, name, op)]
        assert chosen == ([2, 3] if scheme is Quantization.INT8_PER_TOKEN_FFN else []), scheme


def test_only_the_calibrated_schemes_smooth_and_only_the_up_projection() -> None:
    assert {s for s in Quantization if calibrated(s)} == {
        Quantization.INT8_SMOOTH_FFN_UP,
        Quantization.INT8_PER_TOKEN_FFN,
    }
    for scheme in Quantization:
        chosen = [i for i, (name, op) in enumerate(NODES) if smoothed(scheme, name, op)]
        assert chosen == ([2] if calibrated(scheme) else []), scheme
        assert all(
            selects(scheme, NODES[i][0], NODES[i][1]) or selects_per_token(scheme, NODES[i][0], NODES[i][1])
            for i in chosen
        )


def test_no_node_is_quantised_twice() -> None:
    for scheme in Quantization:
        for name, op in NODES:
            ways = [
                selects(scheme, name, op),
                selects_blockwise(scheme, name, op),
                selects_per_token(scheme, name, op),
            ]
            assert sum(ways) <= 1, (scheme, name)


def test_blockwise_rewrites_the_chosen_product_and_keeps_its_output(tmp_path: Path) -> None:
    import numpy as np
    import onnx
    import onnxruntime
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(3)
    weight = rng.normal(size=(256, 64)).astype(np.float32)
    name = "/bert/encoder/layer.0/intermediate/dense/MatMul"
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name=name)],
        "ffn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 256])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 64])],
        [numpy_helper.from_array(weight, "w")],
    )
    path = tmp_path / "model.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    _quantize_blockwise(path, [name])

    assert [n.op_type for n in onnx.load(str(path)).graph.node] == ["MatMulNBits"]
    x = rng.normal(size=(8, 256)).astype(np.float32)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (y,) = session.run(None, {"x": x})
    exact = x @ weight
    assert np.abs(y - exact).max() < 0.02 * np.abs(exact).max()


def test_blockwise_leaves_the_products_it_was_not_given_alone(tmp_path: Path) -> None:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = np.random.default_rng(4).normal(size=(256, 256)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "w1"], ["h"], name="chosen"),
            helper.make_node("MatMul", ["h", "w2"], ["y"], name="other"),
        ],
        "two",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 256])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 256])],
        [numpy_helper.from_array(weight, "w1"), numpy_helper.from_array(weight.copy(), "w2")],
    )
    path = tmp_path / "model.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    _quantize_blockwise(path, ["chosen"])

    assert [n.op_type for n in onnx.load(str(path)).graph.node] == ["MatMulNBits", "MatMul"]


def test_the_blockwise_quantiser_leaves_the_root_logger_as_it_found_it() -> None:
    # Its module calls logging.basicConfig(level=INFO) on import; a fresh process shows whether
    # that handler survives (under pytest the root logger already has handlers, so it never would).
    probe = (
        "import logging, sys\n"
        "from models.onnx_export import _quantize_blockwise\n"
        "try:\n"
        "    _quantize_blockwise(None, [])\n"
        "except Exception:\n"
        "    pass\n"
        "root = logging.getLogger()\n"
        "print(len(root.handlers), root.level)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", str(logging.WARNING)]

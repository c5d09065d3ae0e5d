"""The exported encoder's graph as the session runs it: ``SkipLayerNormalization`` written back as
plain nodes, with the same output, and not fused again by the session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

from models.onnx_export import UNFUSED_OPTIMIZERS, _unfuse_skip_layer_norm

DIM = 16


def _skip_layer_norm_model(path: Path, bias: bool) -> None:
    rng = np.random.default_rng(5)
    weights = {name: rng.normal(size=DIM).astype(np.float32) for name in ("gamma", "beta", "bias")}
    inputs = ["x", "skip", "gamma", "beta", *(["bias"] if bias else [])]
    graph = helper.make_graph(
        [
            helper.make_node(
                "SkipLayerNormalization", inputs, ["y"], name="ln", domain="com.microsoft", epsilon=1e-12
            )
        ],
        "residual",
        [
            helper.make_tensor_value_info(n, TensorProto.FLOAT, ["batch", "tokens", DIM])
            for n in ("x", "skip")
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "tokens", DIM])],
        [numpy_helper.from_array(w, name) for name, w in weights.items() if name != "bias" or bias],
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    onnx.save(helper.make_model(graph, opset_imports=opsets), str(path))


def _run(path: Path, feeds: dict[str, np.ndarray], disabled: list[str]) -> np.ndarray:
    session = onnxruntime.InferenceSession(
        str(path), providers=["CPUExecutionProvider"], disabled_optimizers=disabled
    )
    (out,) = session.run(None, feeds)
    return np.asarray(out)


@pytest.mark.parametrize("bias", [True, False])
def test_unfused_graph_has_plain_nodes_and_the_same_output(tmp_path: Path, bias: bool) -> None:
    fused, plain = tmp_path / "fused.onnx", tmp_path / "plain.onnx"
    _skip_layer_norm_model(fused, bias)
    _skip_layer_norm_model(plain, bias)
    _unfuse_skip_layer_norm(plain)

    ops = [n.op_type for n in onnx.load(str(plain)).graph.node]
    assert ops == [*(["Add"] if bias else []), "Add", "LayerNormalization"]
    rng = np.random.default_rng(9)
    feeds = {n: rng.normal(size=(3, 7, DIM)).astype(np.float32) for n in ("x", "skip")}
    expected = _run(fused, feeds, [])
    assert np.abs(_run(plain, feeds, list(UNFUSED_OPTIMIZERS)) - expected).max() < 1e-4


def test_a_node_whose_extra_outputs_are_used_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    _skip_layer_norm_model(path, bias=True)
    model = onnx.load(str(path))
    model.graph.node[0].output.extend(["mean", "inv_std", "sum"])
    onnx.save(model, str(path))
    with pytest.raises(ValueError, match="only the normalised output"):
        _unfuse_skip_layer_norm(path)


def test_the_session_would_fuse_the_plain_nodes_back_without_the_disabled_optimizers(tmp_path: Path) -> None:
    """Why the session passes ``UNFUSED_OPTIMIZERS``: the optimised graph it would otherwise run."""
    path = tmp_path / "model.onnx"
    _skip_layer_norm_model(path, bias=True)
    _unfuse_skip_layer_norm(path)

    def optimised_ops(disabled: list[str]) -> list[str]:
        options = onnxruntime.SessionOptions()
        options.optimized_model_filepath = str(tmp_path / "optimised.onnx")
        onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"], disabled_optimizers=disabled
        )
        return [n.op_type for n in onnx.load(str(tmp_path / "optimised.onnx")).graph.node]

    assert "SkipLayerNormalization" in optimised_ops([])
    assert "SkipLayerNormalization" not in optimised_ops(list(UNFUSED_OPTIMIZERS))

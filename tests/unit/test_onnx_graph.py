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


WIDTH, OUT = 32, 24
UP = "/bert/encoder/layer.0/intermediate/dense/MatMul"


def _up_projection_model(path: Path, outlier: float) -> np.ndarray:
    """``input_ids`` -> embedding rows -> an up-projection named as the encoder's is; one input
    channel ``outlier`` times wider than the rest, as real activations have."""
    rng = np.random.default_rng(11)
    table = rng.normal(size=(10, WIDTH)).astype(np.float32)
    table[:, 3] *= outlier
    weight = rng.normal(size=(WIDTH, OUT)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Gather", ["table", "input_ids"], ["x"], name="embed"),
            helper.make_node("MatMul", ["x", "w"], ["features"], name=UP),
        ],
        "up",
        [
            helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "tokens"])
            for n in ("input_ids", "attention_mask")
        ],
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", "tokens", OUT])],
        [numpy_helper.from_array(table, "table"), numpy_helper.from_array(weight, "w")],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return table


def _word_tokenizer(path: Path) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers

    words = {w: i for i, w in enumerate(["<pad>", "<unk>", "a", "b", "c", "d", "e", "f", "g", "h"])}
    tokenizer = Tokenizer(models.WordLevel(words, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.save(str(path))


def test_smoothing_keeps_the_fp32_product_and_narrows_int8_error_on_an_outlier_channel(
    tmp_path: Path,
) -> None:
    from models.encoder import EncoderSpec
    from models.onnx_export import Calibration, _quantize_nodes, _smooth
    from models.quantization import Quantization

    _word_tokenizer(tmp_path / "tokenizer.json")
    calibration = Calibration(("a b c d", "e f g h a", "b b c"), EncoderSpec())
    plain, smooth = tmp_path / "plain.onnx", tmp_path / "smooth.onnx"
    _up_projection_model(plain, outlier=30.0)
    _up_projection_model(smooth, outlier=30.0)
    logs: list[str] = []
    _smooth(smooth, tmp_path / "tokenizer.json", calibration, Quantization.INT8_SMOOTH_FFN_UP, logs.append)

    nodes = onnx.load(str(smooth)).graph.node
    assert [n.op_type for n in nodes] == ["Gather", "Mul", "MatMul"]
    assert logs == ["SmoothQuant scales for 1 products from 3 calibration texts"]
    ids = np.array([[2, 3, 4, 5, 6, 7, 8, 9]], dtype=np.int64)
    feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
    exact = _run(plain, feeds, [])
    assert np.abs(_run(smooth, feeds, []) - exact).max() < 1e-4 * np.abs(exact).max()

    errors = {}
    for name, source in (("plain", plain), ("smooth", smooth)):
        quantised = tmp_path / f"{name}-int8.onnx"
        _quantize_nodes(source, quantised, [UP])
        assert "MatMulInteger" in {n.op_type for n in onnx.load(str(quantised)).graph.node}
        errors[name] = float(np.abs(_run(quantised, feeds, []) - exact).mean())
    assert errors["smooth"] < 0.5 * errors["plain"], errors


def test_the_smoothing_scheme_needs_calibration_texts(tmp_path: Path) -> None:
    from models.onnx_export import onnx_folder
    from models.quantization import Quantization

    with pytest.raises(ValueError, match="calibration"):
        onnx_folder(tmp_path, {"artifact": "x"}, Quantization.INT8_SMOOTH_FFN_UP)


DOWN = "/bert/encoder/layer.0/output/dense/MatMul"


def _feed_forward_model(path: Path) -> None:
    """``x`` -> up-projection -> GELU -> down-projection, named as the encoder's are."""
    rng = np.random.default_rng(13)
    up = rng.normal(scale=0.3, size=(WIDTH, 4 * WIDTH)).astype(np.float32)
    down = rng.normal(scale=0.2, size=(4 * WIDTH, WIDTH)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "up"], ["h"], name=UP),
            helper.make_node("Gelu", ["h"], ["g"], name="gelu", domain="com.microsoft"),
            helper.make_node("MatMul", ["g", "down"], ["y"], name=DOWN),
        ],
        "ffn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "tokens", WIDTH])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "tokens", WIDTH])],
        [numpy_helper.from_array(up, "up"), numpy_helper.from_array(down, "down")],
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    onnx.save(helper.make_model(graph, opset_imports=opsets), str(path))


def test_per_token_int8_rewrites_both_products_and_keeps_the_fp32_output(tmp_path: Path) -> None:
    from models.onnx_export import _quantize_per_token

    plain, quantised = tmp_path / "plain.onnx", tmp_path / "per-token.onnx"
    _feed_forward_model(plain)
    _feed_forward_model(quantised)
    _quantize_per_token(quantised, [UP, DOWN])

    nodes = onnx.load(str(quantised)).graph.node
    ops = [n.op_type for n in nodes]
    assert "MatMul" not in ops
    assert ops.count("MatMulIntegerToFloat") == 2
    # Only the GELU's output is shifted to be non-negative (and quantised unsigned).
    assert [n.name for n in nodes if n.name.endswith("_shifted")] == [f"{DOWN}_shifted"]
    x = np.random.default_rng(17).normal(size=(3, 9, WIDTH)).astype(np.float32)
    exact = _run(plain, {"x": x}, [])
    got = _run(quantised, {"x": x}, [])
    assert got.shape == exact.shape
    # Two int8 products in a row: about 1% on average. Leaving the shift in would be about 20%.
    assert np.abs(got - exact).mean() < 0.03 * np.abs(exact).mean()


def test_a_tokens_per_token_result_does_not_depend_on_the_rest_of_the_batch(tmp_path: Path) -> None:
    """One scale per token: a loud text batched with a quiet one leaves the quiet one's result as
    it was alone; with one scale per tensor (dynamic int8) it does not."""
    from models.onnx_export import _quantize_nodes, _quantize_per_token

    plain, per_token, per_tensor = (tmp_path / f"{n}.onnx" for n in ("plain", "token", "tensor"))
    for path in (plain, per_token):
        _feed_forward_model(path)
    _quantize_per_token(per_token, [UP, DOWN])
    _quantize_nodes(plain, per_tensor, [UP, DOWN])
    rng = np.random.default_rng(19)
    quiet = rng.normal(size=(1, 9, WIDTH)).astype(np.float32)
    loud = 40 * rng.normal(size=(1, 9, WIDTH)).astype(np.float32)
    batch = np.concatenate([quiet, loud])

    alone = _run(per_token, {"x": quiet}, [])[0]
    together = _run(per_token, {"x": batch}, [])[0]
    np.testing.assert_allclose(together, alone, rtol=0, atol=1e-6)
    moved = np.abs(_run(per_tensor, {"x": batch}, [])[0] - _run(per_tensor, {"x": quiet}, [])[0]).max()
    assert moved > 100 * 1e-6

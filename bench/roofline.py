"""The roofline for the scorer: how fast ONNX Runtime multiplies matrices of the encoder's own
shapes on this machine, in fp32 and in int8, and what share of that the scorer reaches.

Each of a layer's six products (query, key, value and output projections: tokens x hidden by
hidden x hidden; the feed-forward: tokens x hidden by hidden x intermediate, and back) is timed
alone in a one-node ONNX graph with the scorer's thread count: ``MatMul`` in fp32 and
``MatMulInteger`` (uint8 activations, int8 weights, int32 out: the integer product the int8
operators are built on). The peak for the encoder's mix is the six products' FLOPs over their
summed times. The scorer's achieved rate counts only those products' FLOPs, on the real (not
padded) tokens: attention's own score products, the norms and everything else are left out,
so the share is an upper bound of useful work. Used by ``bench_scoring.py``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True, slots=True)
class Shapes:
    hidden: int
    intermediate: int
    layers: int

    def products(self) -> list[tuple[str, int, int]]:
        """(name, K, N) of a layer's products, each ``tokens x K`` by ``K x N``."""
        h, i = self.hidden, self.intermediate
        return [("q", h, h), ("k", h, h), ("v", h, h), ("out", h, h), ("ffn up", h, i), ("ffn down", i, h)]

    @property
    def flops_per_token(self) -> int:
        return self.layers * sum(2 * k * n for _, k, n in self.products())


@dataclass(frozen=True, slots=True)
class Roofline:
    tokens: int
    threads: int
    fp32_gflops: float
    int8_gops: float
    per_product: dict[str, tuple[float, float]]
    """Name -> (fp32 GFLOP/s, int8 GOP/s)."""


def _session(kind: str, m: int, k: int, n: int, threads: int) -> tuple[object, dict[str, Any]]:
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    if kind == "fp32":
        a = rng.standard_normal((m, k), dtype=np.float32)
        w = rng.standard_normal((k, n), dtype=np.float32)
        node = helper.make_node("MatMul", ["a", "w"], ["y"])
        inputs = [helper.make_tensor_value_info("a", TensorProto.FLOAT, [m, k])]
        out = helper.make_tensor_value_info("y", TensorProto.FLOAT, [m, n])
        init = [numpy_helper.from_array(w, "w")]
        feed: dict[str, Any] = {"a": a}
    else:
        a8 = rng.integers(0, 255, (m, k), dtype=np.uint8)
        w8 = rng.integers(-127, 127, (k, n), dtype=np.int8)
        node = helper.make_node("MatMulInteger", ["a", "w", "a_zero"], ["y"])
        inputs = [helper.make_tensor_value_info("a", TensorProto.UINT8, [m, k])]
        out = helper.make_tensor_value_info("y", TensorProto.INT32, [m, n])
        init = [numpy_helper.from_array(w8, "w"), numpy_helper.from_array(np.array(128, np.uint8), "a_zero")]
        feed = {"a": a8}
    graph = helper.make_graph([node], f"{kind}-{m}x{k}x{n}", inputs, [out], initializer=init)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return session, feed


def _seconds(session: object, feed: dict[str, Any], min_seconds: float) -> float:
    run = session.run  # type: ignore[attr-defined]
    for _ in range(3):
        run(None, feed)
    best = float("inf")
    spent, rounds = 0.0, 0
    while spent < min_seconds or rounds < 5:
        started = time.perf_counter()
        run(None, feed)
        took = time.perf_counter() - started
        best, spent, rounds = min(best, took), spent + took, rounds + 1
    return best


def measure(shapes: Shapes, tokens: int, threads: int, min_seconds: float = 0.3) -> Roofline:
    """Best-of-rounds time of each product, fp32 and int8, at ``tokens`` rows."""
    per: dict[str, tuple[float, float]] = {}
    flops_total = 0.0
    time_fp32 = time_int8 = 0.0
    for name, k, n in shapes.products():
        flops = 2.0 * tokens * k * n
        t32 = _seconds(*_session("fp32", tokens, k, n, threads), min_seconds)
        t8 = _seconds(*_session("int8", tokens, k, n, threads), min_seconds)
        per[name] = (flops / t32 / 1e9, flops / t8 / 1e9)
        flops_total += flops
        time_fp32 += t32
        time_int8 += t8
    return Roofline(tokens, threads, flops_total / time_fp32 / 1e9, flops_total / time_int8 / 1e9, per)


def achieved_gflops(shapes: Shapes, texts_per_s: float, tokens_per_text: float) -> float:
    return texts_per_s * tokens_per_text * shapes.flops_per_token / 1e9

"""Export the feature model to ONNX, fuse it, and quantise the parts that keep labels.

Run once per model version at set-up (about half a minute); the result is cached.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from models import vocabulary
from models.build_cache import build_once
from models.encoder import TOKENIZER_FILE
from models.quantization import (
    Quantization,
    calibrated,
    selects,
    selects_blockwise,
    selects_per_token,
    smoothed,
)

if TYPE_CHECKING:
    import onnx

    from models.encoder import EncoderSpec
    from models.torch_encoder import FeatureModel

FILE = "model.onnx"

GRAPH_REVISION = "2"
"""Part of the cache key: bumped when the exported graph changes for the same weights and
libraries (2: ``SkipLayerNormalization`` written back as ``Add`` and ``LayerNormalization``)."""

UNFUSED_OPTIMIZERS = ("SkipLayerNormFusion",)
"""ONNX Runtime fusions a session must leave off so that it runs the graph as exported; see
:func:`_unfuse_skip_layer_norm`."""


SMOOTHING_ALPHA = 0.5
"""SmoothQuant's migration strength: how much of each channel's activation range moves into the
weights (0.5, the paper's default). Measured on 6 December 2026: 99.00% of fp32's labels (all
three) kept with it; the up-projection in per-tensor int8 without it kept 97.11% (4 December,
earlier weights)."""


@dataclass(frozen=True, slots=True)
class Calibration:
    """Texts whose activations set the SmoothQuant scales, and how the model reads a text."""

    texts: tuple[str, ...]
    spec: EncoderSpec
    max_length: int = 128
    batch: int = 32

    def digest(self) -> str:
        joined = "\n".join(self.texts).encode()
        return hashlib.sha256(joined).hexdigest()[:12] + f"-{SMOOTHING_ALPHA}-{self.max_length}"


def onnx_folder(
    cache_dir: Path,
    identity: dict[str, str],
    scheme: Quantization,
    prune_vocabulary: bool = True,
    calibration: Calibration | None = None,
) -> Path:
    import onnxruntime

    words = vocabulary.identity() if prune_vocabulary else "full"
    key = dict(
        identity,
        quantization=scheme.value,
        ort=onnxruntime.__version__,
        torch=version("torch"),
        vocabulary=words,
        graph=GRAPH_REVISION,
    )
    if calibrated(scheme):
        if calibration is None:
            raise ValueError(f"quantization {scheme.value} needs calibration texts")
        key["calibration"] = calibration.digest()
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return cache_dir / "onnx" / f"{scheme.value}-{digest}"


def ensure_onnx(
    make_model: Callable[[], FeatureModel],
    cache_dir: Path,
    identity: dict[str, str],
    scheme: Quantization,
    tokenizer_dir: Path,
    log: Callable[[str], None] = lambda _: None,
    prune_vocabulary: bool = True,
    calibration: Calibration | None = None,
) -> Path:
    """Path of the exported model file, exporting it first if needed (blocks), in the folder
    :func:`onnx_folder` names for the same arguments: what is built and where it is cached
    cannot disagree.

    The folder also holds the tokenizer that goes with the model: the one in ``tokenizer_dir``,
    cut with the embedding table to the pieces the scored languages use when
    ``prune_vocabulary`` (:mod:`models.vocabulary`). ``make_model`` is only called when a build
    is needed. ``calibration`` is needed (and only read) by the schemes that smooth
    (:func:`models.quantization.calibrated`).
    """
    target = onnx_folder(cache_dir, identity, scheme, prune_vocabulary, calibration)

    def build(staging: Path) -> None:
        started = time.monotonic()
        log(f"exporting the encoder to ONNX ({scheme.value}), one-time step: {target}")
        model = make_model()
        if prune_vocabulary:
            kept = vocabulary.prune(tokenizer_dir / TOKENIZER_FILE, staging / TOKENIZER_FILE)
            _keep_embeddings(model, kept)
            log(f"vocabulary cut to the {len(kept):,} pieces Polish, Hungarian and English use")
        else:
            shutil.copyfile(tokenizer_dir / TOKENIZER_FILE, staging / TOKENIZER_FILE)
        raw = staging / "raw.onnx"
        _export(model, raw)
        fused = staging / "fused.onnx"
        _fuse(raw, fused, model)
        raw.unlink()
        if calibration is not None and calibrated(scheme):
            _smooth(fused, staging / TOKENIZER_FILE, calibration, scheme, log)
        if scheme is Quantization.NONE:
            fused.rename(staging / FILE)
        else:
            _quantize(fused, staging / FILE, scheme)
            fused.unlink()
        _unfuse_skip_layer_norm(staging / FILE)
        log(f"ONNX encoder ready in {time.monotonic() - started:.1f}s")

    return build_once(target, build) / FILE


def _keep_embeddings(model: FeatureModel, kept: list[int]) -> None:
    """Cut the word-embedding table to the rows of ``kept``, in that order."""
    import torch

    embeddings = model.bert.embeddings
    rows = embeddings.word_embeddings.weight.detach()[torch.tensor(kept)].clone()
    embeddings.word_embeddings = torch.nn.Embedding.from_pretrained(rows, freeze=True)
    model.bert.config.vocab_size = len(kept)


def _export(model: FeatureModel, path: Path) -> None:
    import torch

    ids = torch.tensor([[0, 5, 6, 7, 2], [0, 5, 6, 2, 1]])
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model.eval(),
            (ids, mask),
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=["features"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
            },
            opset_version=17,
            dynamo=False,
        )


def _fuse(source: Path, target: Path, model: FeatureModel) -> None:
    from onnxruntime.transformers import optimizer

    config = model.bert.config
    fused = optimizer.optimize_model(
        str(source),
        model_type="bert",
        num_heads=int(config.num_attention_heads),
        hidden_size=int(config.hidden_size),
    )
    fused.save_model_to_file(str(target))


def _smooth(
    path: Path,
    tokenizer_file: Path,
    calibration: Calibration,
    scheme: Quantization,
    log: Callable[[str], None],
) -> None:
    """SmoothQuant (Xiao et al., 2023) on the products ``scheme`` smooths, in place: each input
    channel j gets ``s_j = max|x_j|^a / max|w_j|^(1-a)`` from the calibration texts'
    activations (real tokens only), a ``Mul`` by ``1/s`` in front of the product and its weight
    row j multiplied by ``s_j``. The fp32 result is the same; per-tensor int8 then sees
    activations without a few channels 10-20x wider than the median."""
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(path))
    targets = [n for n in model.graph.node if smoothed(scheme, n.name, n.op_type)]
    widest = _channel_maxima(model, [n.input[0] for n in targets], tokenizer_file, calibration)
    weights = {w.name: w for w in model.graph.initializer}
    nodes = []
    for node in model.graph.node:
        if node in targets:
            x_max = widest[node.input[0]]
            weight = numpy_helper.to_array(weights[node.input[1]])
            w_max = np.abs(weight).max(axis=1)
            scale = (
                np.maximum(x_max, 1e-5) ** SMOOTHING_ALPHA / np.maximum(w_max, 1e-5) ** (1 - SMOOTHING_ALPHA)
            ).astype(np.float32)
            weights[node.input[1]].CopyFrom(
                numpy_helper.from_array((weight * scale[:, None]).astype(np.float32), node.input[1])
            )
            inverse = f"{node.name}_smooth_scale"
            model.graph.initializer.append(numpy_helper.from_array((1.0 / scale).astype(np.float32), inverse))
            nodes.append(
                helper.make_node(
                    "Mul", [node.input[0], inverse], [f"{node.name}_smoothed"], name=f"{node.name}_smooth"
                )
            )
            node.input[0] = f"{node.name}_smoothed"
        nodes.append(node)
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    onnx.save(model, str(path))
    log(f"SmoothQuant scales for {len(targets)} products from {len(calibration.texts)} calibration texts")


def _channel_maxima(
    model: onnx.ModelProto, tensors: Sequence[str], tokenizer_file: Path, calibration: Calibration
) -> dict[str, Any]:
    """The largest absolute value of each channel of ``tensors`` over the calibration texts'
    real (not padding) tokens, running ``model`` with those tensors as extra outputs."""
    import numpy as np
    import onnx
    import onnxruntime as ort
    from tokenizers import Tokenizer

    from models.encoder import PAD_TOKEN, model_input, pad_batch

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    for name in tensors:
        probe.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    session = ort.InferenceSession(
        probe.SerializeToString(),
        providers=["CPUExecutionProvider"],
        disabled_optimizers=list(UNFUSED_OPTIMIZERS),
    )
    del probe
    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.enable_truncation(calibration.max_length)
    tokenizer.no_padding()
    prepare = model_input(calibration.spec, tokenizer.get_vocab())
    pad = tokenizer.token_to_id(PAD_TOKEN) or 0
    widest: dict[str, Any] = {}
    texts = list(calibration.texts)
    for start in range(0, len(texts), calibration.batch):
        encoded = tokenizer.encode_batch([prepare(t) for t in texts[start : start + calibration.batch]])
        ids, mask = pad_batch([e.ids for e in encoded], pad)
        outputs = session.run(list(tensors), {"input_ids": ids, "attention_mask": mask})
        real = mask.reshape(-1) == 1
        for name, out in zip(tensors, outputs, strict=True):
            top = np.abs(out.reshape(-1, out.shape[-1])[real]).max(axis=0)
            widest[name] = top if name not in widest else np.maximum(widest[name], top)
    return widest


def _unfuse_skip_layer_norm(path: Path) -> None:
    """Rewrite each ``SkipLayerNormalization`` in place as ``Add`` (bias), ``Add`` (residual)
    and the standard ``LayerNormalization``: the same arithmetic, but ONNX Runtime 1.32's CPU
    kernel for the fused node took 1.7 ms where the three plain nodes take 0.26 ms on the
    encoder's shape (32 texts x 35 tokens x 384), so the 14 of them were a fifth of the
    encoder's time. The session must then run with :data:`UNFUSED_OPTIMIZERS` off, or it fuses
    them back."""
    import onnx
    from onnx import helper

    model = onnx.load(str(path))
    nodes = []
    for node in model.graph.node:
        if node.op_type != "SkipLayerNormalization":
            nodes.append(node)
            continue
        if any(node.output[1:]):
            raise ValueError(f"{node.name}: only the normalised output can be unfused")
        x, skip, gamma, beta = node.input[:4]
        bias = node.input[4] if len(node.input) > 4 else ""
        epsilon = next((a.f for a in node.attribute if a.name == "epsilon"), 1e-12)
        if bias:
            nodes.append(
                helper.make_node("Add", [x, bias], [f"{node.name}_biased"], name=f"{node.name}_bias")
            )
            x = f"{node.name}_biased"
        nodes.append(helper.make_node("Add", [x, skip], [f"{node.name}_sum"], name=f"{node.name}_residual"))
        nodes.append(
            helper.make_node(
                "LayerNormalization",
                [f"{node.name}_sum", gamma, beta],
                [node.output[0]],
                name=f"{node.name}_norm",
                axis=-1,
                epsilon=epsilon,
            )
        )
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    onnx.save(model, str(path))


def _quantize(source: Path, target: Path, scheme: Quantization) -> None:
    import onnx

    graph = onnx.load(str(source)).graph
    chosen = [n.name for n in graph.node if selects(scheme, n.name, n.op_type)]
    blockwise = [n.name for n in graph.node if selects_blockwise(scheme, n.name, n.op_type)]
    per_token = [n.name for n in graph.node if selects_per_token(scheme, n.name, n.op_type)]
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantizers log pre-processing hints and each node at INFO/WARNING
    try:
        _quantize_nodes(source, target, chosen)
        if per_token:
            _quantize_per_token(target, per_token)
        if blockwise:
            _quantize_blockwise(target, blockwise)
    finally:
        root.setLevel(level)


def _quantize_nodes(source: Path, target: Path, chosen: list[str]) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(source),
        str(target),
        weight_type=QuantType.QInt8,
        per_channel=True,
        op_types_to_quantize=["MatMul", "Attention"],
        nodes_to_quantize=chosen,
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )


BLOCK = 128
"""Inner-dimension block of the blockwise int8 products (chosen on 2 cores: 32 was slower, 256
no faster and less exact)."""


def _quantize_blockwise(path: Path, nodes: list[str]) -> None:
    """Rewrite ``nodes`` (fp32 MatMuls with constant weights) in place as ``MatMulNBits``: 8-bit
    symmetric weights per block of ``BLOCK``, and ``accuracy_level`` 4, which computes in int8
    with each row's activations quantised per block."""
    import onnx

    # Importing the quantiser calls logging.basicConfig(level=INFO), which would hang a handler on
    # the root logger of whichever process builds the cache (the worker, say): undo that.
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    root.setLevel(level)
    model = onnx.load(str(path))
    # ``nodes_to_include`` alone does not limit it (ONNX Runtime 1.32 rewrote every MatMul):
    # the other MatMuls are excluded by name.
    others = [n.name for n in model.graph.node if n.op_type == "MatMul" and n.name not in nodes]
    quantizer = MatMulNBitsQuantizer(
        model,
        bits=8,
        block_size=BLOCK,
        is_symmetric=True,
        accuracy_level=4,
        nodes_to_include=nodes,
        nodes_to_exclude=others,
    )
    quantizer.process()
    quantizer.model.save_model_to_file(str(path), use_external_data_format=False)


GELU_FLOOR = 0.17
"""Just below the smallest value GELU takes (-0.16997, at -0.75): a GELU's output plus this is
never negative, so its per-token int8 can be unsigned, twice as fine as the signed range."""


def _quantize_per_token(path: Path, nodes: list[str]) -> None:
    """Rewrite ``nodes`` (fp32 MatMuls of a ``[batch, tokens, k]`` input by a constant ``[k, n]``
    weight) in place in per-token int8 (ZeroQuant, Yao et al., 2022): each token's row gets its
    own scale, so the batch's other tokens cannot widen it as one scale per tensor does, and the
    weight one scale per output column. ``QuantizeLinear`` per axis quantises the rows to
    ``uint8`` (ONNX Runtime's CPU kernels are fast for u8 x s8, not s8 x s8) and
    ``MatMulIntegerToFloat`` multiplies and scales back by both scales in one kernel. Its
    contract names a scalar ``a_scale``; given as a ``[rows, 1]`` column, ONNX Runtime 1.32
    broadcasts it over each row's results, which is what per-token needs (the unit tests check
    the product against fp32, so a runtime that stops doing so fails them).

    A row of a GELU's output is shifted by :data:`GELU_FLOOR` and quantised over ``[0, max]``
    (255 steps; the shift times the weight's column sums is taken off after); any other row
    over ``[-max|x|, max|x|]`` around 128 (127 steps each way)."""
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(path))
    weights = {w.name: w for w in model.graph.initializer}
    producers = {out: node.op_type for node in model.graph.node for out in node.output}
    shared = "per_token"
    model.graph.initializer.extend(
        [
            numpy_helper.from_array(np.array(1 / 127, np.float32), f"{shared}_signed_step"),
            numpy_helper.from_array(np.array(1 / 255, np.float32), f"{shared}_unsigned_step"),
            numpy_helper.from_array(np.array(GELU_FLOOR, np.float32), f"{shared}_gelu_floor"),
            numpy_helper.from_array(np.array(1e-8, np.float32), f"{shared}_floor"),
            numpy_helper.from_array(np.array(128, np.uint8), f"{shared}_middle"),
            numpy_helper.from_array(np.array(0, np.uint8), f"{shared}_bottom"),
            numpy_helper.from_array(np.array([-1], np.int64), f"{shared}_flat"),
            numpy_helper.from_array(np.array([-1, 1], np.int64), f"{shared}_column"),
            numpy_helper.from_array(np.array([0], np.int64), f"{shared}_start"),
            numpy_helper.from_array(np.array([-1], np.int64), f"{shared}_last"),
        ]
    )
    out = []
    for node in model.graph.node:
        if node.name not in nodes:
            out.append(node)
            continue
        x, w_name = node.input
        weight = numpy_helper.to_array(weights[w_name])
        column = np.maximum(np.abs(weight).max(axis=0), 1e-8) / 127
        quantised = np.clip(np.round(weight / column), -127, 127).astype(np.int8)
        n = node.name
        model.graph.initializer.extend(
            [
                numpy_helper.from_array(quantised, f"{n}_weight_int8"),
                numpy_helper.from_array(column.astype(np.float32), f"{n}_weight_scale"),
                numpy_helper.from_array(np.array([-1, weight.shape[0]], np.int64), f"{n}_rows"),
                numpy_helper.from_array(np.array([weight.shape[1]], np.int64), f"{n}_width"),
            ]
        )

        def make(op: str, inputs: list[str], suffix: str, prefix: str = n, **attrs: Any) -> str:
            out.append(
                helper.make_node(op, inputs, [f"{prefix}_{suffix}"], name=f"{prefix}_{suffix}", **attrs)
            )
            return f"{prefix}_{suffix}"

        unsigned = producers.get(x) in ("Gelu", "BiasGelu")
        if unsigned:
            x = make("Add", [x, f"{shared}_gelu_floor"], "shifted")
            widest = make(
                "Max", [make("ReduceMax", [x], "max", axes=[-1], keepdims=1), f"{shared}_floor"], "widest"
            )
            scale = make("Mul", [widest, f"{shared}_unsigned_step"], "scale")
            zero = f"{shared}_bottom"
        else:
            top = make("ReduceMax", [x], "max", axes=[-1], keepdims=1)
            bottom = make("Neg", [make("ReduceMin", [x], "min", axes=[-1], keepdims=1)], "neg")
            scale = make(
                "Mul",
                [make("Max", [top, bottom, f"{shared}_floor"], "widest"), f"{shared}_signed_step"],
                "scale",
            )
            zero = f"{shared}_middle"
        row_scale = make("Reshape", [scale, f"{shared}_flat"], "row_scale")
        zeros = make("Expand", [zero, make("Shape", [row_scale], "count")], "zeros")
        q = make(
            "QuantizeLinear", [make("Reshape", [x, f"{n}_rows"], "2d"), row_scale, zeros], "uint8", axis=0
        )
        product = make(
            "MatMulIntegerToFloat",
            [
                q,
                f"{n}_weight_int8",
                make("Reshape", [scale, f"{shared}_column"], "column_scale"),
                f"{n}_weight_scale",
                zero,
            ],
            "product",
            domain="com.microsoft",
        )
        if unsigned:
            shift = -GELU_FLOOR * (quantised.astype(np.float32) * column).sum(axis=0)
            model.graph.initializer.append(numpy_helper.from_array(shift.astype(np.float32), f"{n}_unshift"))
            product = make("Add", [product, f"{n}_unshift"], "unshifted")
        lead = make(
            "Slice", [make("Shape", [node.input[0]], "shape"), f"{shared}_start", f"{shared}_last"], "lead"
        )
        shape = make("Concat", [lead, f"{n}_width"], "out_shape", axis=0)
        out.append(helper.make_node("Reshape", [product, shape], [node.output[0]], name=f"{n}_3d"))
    used = {i for node in out for i in node.input}
    kept = [w for w in model.graph.initializer if w.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    del model.graph.node[:]
    model.graph.node.extend(out)
    onnx.save(model, str(path))

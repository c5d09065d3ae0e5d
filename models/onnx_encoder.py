"""The fast path: the exported encoder under ONNX Runtime."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from models.encoder import Encoder, EncoderOptions, EncoderSpec, Floats, Ints
from models.onnx_export import UNFUSED_OPTIMIZERS


class OnnxEncoder(Encoder):
    def __init__(
        self,
        tokenizer: Tokenizer,
        model_file: Path,
        spec: EncoderSpec,
        options: EncoderOptions,
        dim: int,
    ) -> None:
        import onnxruntime as ort

        super().__init__(tokenizer, spec, options)
        self._lanes = (options.threads or len(os.sched_getaffinity(0))) if options.lanes else 1
        session_options = ort.SessionOptions()
        if self._lanes > 1:
            session_options.intra_op_num_threads = 1  # the lanes are the parallelism
        elif options.threads:
            session_options.intra_op_num_threads = options.threads
        session_options.inter_op_num_threads = 1
        session_options.enable_cpu_mem_arena = options.memory_arena
        spin = "1" if options.spin else "0"
        session_options.add_session_config_entry("session.intra_op.allow_spinning", spin)
        session_options.add_session_config_entry("session.inter_op.allow_spinning", spin)
        self.session = ort.InferenceSession(
            str(model_file),
            session_options,
            providers=["CPUExecutionProvider"],
            disabled_optimizers=[] if options.fuse_skip_layer_norm else list(UNFUSED_OPTIMIZERS),
        )
        self._dim = dim

    @property
    def dim(self) -> int:
        return self._dim

    def lanes(self) -> int:
        return self._lanes

    def _run(self, input_ids: Ints, attention_mask: Ints) -> Floats:
        (out,) = self.session.run(None, {"input_ids": input_ids, "attention_mask": attention_mask})
        return np.asarray(out, dtype=np.float32)

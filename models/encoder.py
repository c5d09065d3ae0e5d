"""Feature extraction: the truncated, adapted e5 encoder turned into fixed-size text features.

This module stays free of torch and transformers, so that a worker scoring through ONNX Runtime
never imports them (about 250 MB less memory); the PyTorch parts are in
:mod:`models.torch_encoder`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
from tokenizers import Tokenizer

from models.augment import strip_diacritics
from models.batching import plan_buckets, spread
from models.emoji_names import EmojiSpeller

Floats = npt.NDArray[np.float32]
Ints = npt.NDArray[np.int64]
TOKENIZER_FILE = "tokenizer.json"
PAD_TOKEN = "<pad>"


@dataclass(frozen=True, slots=True)
class EncoderSpec:
    """The architecture the heads were trained on; stored beside them."""

    layers: int = 7
    """Transformer layers kept from multilingual-e5-small (of 12). Measured with adapters: 7
    adapted layers score within 0.01 macro-F1 of 8 and run 30% faster; 6 lose 0.03. Trained whole,
    all 12 read the hard mentions better, so training keeps 12 (``TrainConfig.spec``); an artifact
    stores its own count."""
    feature_layers: tuple[int, ...] = (5, 7)
    """Hidden states (1-based layer numbers) whose mean pools are concatenated."""
    prefix: str = ""
    spell_emoji: bool = False
    """Replace the emoji the vocabulary lacks by their names before tokenising
    (:mod:`models.emoji_names`); the weights were trained with or without it."""
    fold_diacritics: bool = False
    """Read every text without diacritics (``"Zamówienie nie dotarło"`` -> ``"Zamowienie nie
    dotarlo"``), as search engines fold accents: Polish and Hungarian posts are often typed
    without them, and a model that reads one form gives both the same label."""

    def feature_dim(self, hidden: int) -> int:
        return hidden * len(self.feature_layers)

    def keeping(self, layers: int) -> EncoderSpec:
        """The same spec with ``layers`` kept, its features pooled from the last and the third
        from last of them."""
        return replace(self, layers=layers, feature_layers=(layers - 2, layers))


@dataclass(frozen=True, slots=True)
class EncoderOptions:
    """Run-time knobs that do not change what the model is."""

    threads: int | None = None
    """Intra-op threads; None keeps the runtime's default (one per core)."""
    max_length: int = 128
    """Tokens per text, special tokens included; longer texts are truncated."""
    bucketing: bool = True
    """Sort by length and cut each batch into sub-batches of similar length."""
    max_batch: int = 64
    bucket_overhead_tokens: int = 96
    """Fixed cost of one forward pass, in padded tokens, used to decide bucket cuts."""
    lanes: bool = True
    """ONNX Runtime: run a batch's sub-batches side by side, one single-threaded call per thread,
    instead of one call at a time spread over ``threads`` intra-op threads. Measured here: about
    4% faster alone, 10% less CPU, and it degrades more gently when other processes take the
    cores; a lone text runs on one thread (slower at batch 1)."""
    spin: bool = False
    """Let ONNX Runtime's idle threads busy-wait for work. Measured here: no faster alone, and
    about 8% more CPU, which a worker sharing its cores with a broker and a search server lacks."""
    fuse_skip_layer_norm: bool = False
    """ONNX Runtime: let the session fuse each residual ``Add`` and ``LayerNormalization`` back
    into ``SkipLayerNormalization``. Its CPU kernel (ONNX Runtime 1.32) is slower than the plain
    nodes; measured here, the scorer at batch 64 is about 1.2x as fast without it
    (``bench/bench_scoring.py --also-fused-layer-norm``)."""
    memory_arena: bool = False
    """ONNX Runtime: keep freed activation memory in its own arena for reuse instead of returning
    it to the allocator. Measured here at batch 64: the arena holds about 90 MiB more between
    batches and is 1.3% faster (best of three rounds, within the noise)."""
    device: str = "cpu"
    """PyTorch runtime: where the model runs, ``cpu`` or ``cuda`` (``cuda:1``: the second GPU),
    in half precision on a GPU. ONNX Runtime runs on the CPU only."""


def load_tokenizer(folder: Path) -> Tokenizer:
    """The encoder's tokenizer from ``folder/tokenizer.json``, by the ``tokenizers`` library alone:
    the same ids as the ``transformers`` tokenizer built on the same file, at half its memory."""
    return Tokenizer.from_file(str(folder / TOKENIZER_FILE))


def model_input(spec: EncoderSpec, vocabulary: Collection[str]) -> Callable[[str], str]:
    """What the tokenizer is given for a text under ``spec``: the same in training and scoring.

    ``vocabulary`` is the tokenizer's pieces (``tokenizer.get_vocab()``).
    """
    steps: list[Callable[[str], str]] = []
    if spec.fold_diacritics:
        steps.append(strip_diacritics)
    if spec.spell_emoji:
        steps.append(EmojiSpeller(frozenset(vocabulary)))

    def prepare(text: str) -> str:
        for step in steps:
            text = step(text)
        return spec.prefix + text

    return prepare


class Encoder(ABC):
    """Turns texts into features. Loads once; ``features`` is CPU-bound and blocks.

    Call ``features`` from an executor inside an event loop; it is not safe to call from
    several threads at once (it may itself run sub-batches on threads of its own).
    """

    def __init__(self, tokenizer: Tokenizer, spec: EncoderSpec, options: EncoderOptions) -> None:
        self.tokenizer = tokenizer
        self.spec = spec
        self.options = options
        pad = tokenizer.token_to_id(PAD_TOKEN)
        self.pad_id = 0 if pad is None else int(pad)
        self._prepare = model_input(spec, tokenizer.get_vocab())
        # Longer texts keep their first tokens, special tokens included, as ``transformers``
        # truncates with ``truncation=True, max_length=...``.
        tokenizer.enable_truncation(options.max_length)
        tokenizer.no_padding()
        self._executor: ThreadPoolExecutor | None = None

    @property
    @abstractmethod
    def dim(self) -> int: ...

    @abstractmethod
    def _run(self, input_ids: Ints, attention_mask: Ints) -> Floats: ...

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        encoded = self.tokenizer.encode_batch([self._prepare(t) for t in texts])
        return [e.ids for e in encoded]

    def features(self, texts: Sequence[str]) -> Floats:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        ids = self.tokenize(texts)
        groups = self._groups([len(x) for x in ids])
        lanes = self.lanes()
        if lanes < 2:
            for group in groups:
                out[group] = self._run(*self._pad([ids[i] for i in group]))
            return out

        def run(group: list[int]) -> tuple[list[int], Floats]:
            return group, self._run(*self._pad([ids[i] for i in group]))

        for group, features in self._pool(lanes).map(run, spread(groups, [len(x) for x in ids], lanes)):
            out[group] = features
        return out

    def lanes(self) -> int:
        """How many ``_run`` calls may go side by side; 1 unless the runtime supports it."""
        return 1

    def _pool(self, lanes: int) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=lanes, thread_name_prefix="encoder-lane")
        return self._executor

    def _groups(self, lengths: list[int]) -> list[list[int]]:
        o = self.options
        if o.bucketing:
            return plan_buckets(lengths, o.max_batch, o.bucket_overhead_tokens)
        n = len(lengths)
        return [list(range(i, min(i + o.max_batch, n))) for i in range(0, n, o.max_batch)]

    def _pad(self, batch: list[list[int]]) -> tuple[Ints, Ints]:
        return pad_batch(batch, self.pad_id)


def pad_batch(batch: Sequence[Sequence[int]], pad_id: int) -> tuple[Ints, Ints]:
    """Token ids padded to the longest in ``batch`` with ``pad_id``, and the attention mask."""
    width = max(len(x) for x in batch)
    ids = np.full((len(batch), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(batch), width), dtype=np.int64)
    for row, seq in enumerate(batch):
        ids[row, : len(seq)] = seq
        mask[row, : len(seq)] = 1
    return ids, mask

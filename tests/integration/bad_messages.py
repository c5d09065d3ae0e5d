"""Bad messages of many kinds for the fault suite, each with the dead-letter reason it must get.

Seeded, so a failure can be reproduced; weighted, so the large kinds (100,000-level nesting,
300 KB texts) stay rare and 10,000 messages stay a few tens of megabytes.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BadMessage:
    key: bytes
    value: bytes
    kind: str
    reason: str
    """What the dead letter's reason must contain."""
    stage: str = "decode"


def _mention_json(rng: random.Random, **fields: object) -> dict[str, object]:
    value: dict[str, object] = {
        "platform": "x",
        "native_id": f"bad-{rng.randrange(10**9)}",
        "brand": "zakupowo",
        "author": {"id": "u-bad", "followers": 5},
        "text": "Platnosc nie dziala",
        "created_at": "2026-11-19T12:00:00Z",
    }
    value.update(fields)
    return value


def _dumps(value: object) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


def _bad(kind: str, rng: random.Random) -> tuple[bytes, str, str]:
    """(value, expected reason, stage) for one bad message of ``kind``."""
    m = _mention_json(rng)
    if kind == "not-json":
        return (
            b"x" + bytes(rng.randrange(32, 127) for _ in range(rng.randrange(1, 200))),
            "invalid JSON",
            "decode",
        )
    if kind == "truncated":
        whole = _dumps(m)
        return whole[: rng.randrange(1, len(whole) - 1)], "invalid JSON", "decode"
    if kind == "bad-utf8":
        return _dumps(m).replace(b"nie", b"\xff\xfe\xc3"), "not valid UTF-8", "decode"
    if kind == "deep-array":
        return b"[" * 100_000 + b"]" * 100_000, "nested too deeply", "decode"
    if kind == "deep-object":
        return b'{"a":' * 20_000 + b"1" + b"}" * 20_000, "nested too deeply", "decode"
    if kind == "not-object":
        return _dumps(rng.choice([[1, 2], 3, "text", None, True, []])), "expected a JSON object", "decode"
    if kind == "wrong-type":
        field_name, wrong = rng.choice(
            [
                ("platform", 7),
                ("text", ["a"]),
                ("author", "someone"),
                ("native_id", {"id": 1}),
                ("created_at", True),
                ("from_brand", "maybe"),
            ]
        )
        return _dumps({**m, field_name: wrong}), "invalid record", "decode"
    if kind == "missing-field":
        del m[rng.choice(["platform", "native_id", "brand", "author", "text", "created_at"])]
        return _dumps(m), "invalid record", "decode"
    if kind == "extra-field":
        return _dumps({**m, "surprise": 1}), "invalid record", "decode"
    if kind == "huge":
        return _dumps({**m, "text": "x" * 300_000}), "-byte limit", "decode"
    if kind == "long-text":
        return _dumps({**m, "text": "ab " * 7_000}), "invalid record", "decode"
    if kind == "unknown-brand":
        return _dumps({**m, "brand": "acme"}), "unknown brand 'acme'", "decode"
    if kind == "empty-text":
        return _dumps({**m, "text": rng.choice(["", " ", "\n\t ", "\u3000"])}), "empty text", "decode"
    if kind == "lone-surrogate":
        return _dumps(m).replace(b"nie", b"\\ud800nie\\udfff"), "invalid record", "decode"
    if kind == "control-chars":
        return _dumps(m).replace(b"nie", b"\x00\x07\x1b"), "invalid JSON", "decode"
    if kind == "extreme-number":
        followers = rng.choice([float("inf"), float("-inf"), float("nan"), -5, 1e400])
        return _dumps({**m, "author": {"id": "u", "followers": followers}}), "invalid record", "decode"
    if kind == "bad-date":
        created = rng.choice(["2026-13-45T99:99:99Z", "yesterday", "", 1e20, "99999-01-01T00:00:00Z"])
        return _dumps({**m, "created_at": created}), "invalid record", "decode"
    if kind == "naive-date":
        return _dumps({**m, "created_at": "2026-11-19 12:00"}), "timestamp must include a timezone", "decode"
    if kind == "schema-version":
        return _dumps({**m, "schema_version": rng.choice([0, 2, "1", None])}), "schema_version", "decode"
    if kind == "empty":
        return b"", "empty message", "decode"
    if kind == "scorer-fails":
        return _dumps({**m, "text": "BOOM goes the model"}), "scoring failed", "score"
    raise ValueError(kind)


BAD_KINDS = {
    "not-json": 10,
    "truncated": 10,
    "bad-utf8": 10,
    "deep-array": 0.5,
    "deep-object": 0.5,
    "not-object": 5,
    "wrong-type": 10,
    "missing-field": 10,
    "extra-field": 5,
    "huge": 0.3,
    "long-text": 1,
    "unknown-brand": 5,
    "empty-text": 5,
    "lone-surrogate": 5,
    "control-chars": 5,
    "extreme-number": 5,
    "bad-date": 5,
    "naive-date": 3,
    "schema-version": 3,
    "empty": 2,
    "scorer-fails": 3,
}
"""Relative weights: the big ones are rare, so 10,000 messages stay a few tens of megabytes."""


def bad_messages(n: int, seed: int, fixed_scorer: bool = True) -> list[BadMessage]:
    """``n`` bad messages of every kind in :data:`BAD_KINDS`, each with a key of its own
    (``scorer-fails`` only fails the fixed scorer: left out for the real one)."""
    rng = random.Random(seed)
    weights = {k: w for k, w in BAD_KINDS.items() if fixed_scorer or k != "scorer-fails"}
    kinds = list(weights)
    chosen = kinds + rng.choices(kinds, weights=list(weights.values()), k=n - len(kinds))
    out = []
    for i, kind in enumerate(chosen):
        value, reason, stage = _bad(kind, rng)
        out.append(BadMessage(f"bad:{kind}:{i}".encode(), value, kind, reason, stage))
    return out

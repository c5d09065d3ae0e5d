"""The ``flarewatch score`` line contract: JSON Lines in, one JSON object per valid line out."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from models.scores import Score

MAX_LINE_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class ScoreInput:
    line: int
    id: str | int
    text: str
    lang: str | None


@dataclass(frozen=True, slots=True)
class LineError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


def parse_line(raw: bytes, line: int) -> ScoreInput | LineError | None:
    """Decode one input line; None for a blank line (skipped, as JSON Lines readers do)."""
    if len(raw) > MAX_LINE_BYTES:
        return LineError(line, f"line is {len(raw)} bytes, more than the {MAX_LINE_BYTES}-byte limit")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return LineError(line, f"not valid UTF-8 (byte {raw[exc.start]:#04x} at offset {exc.start})")
    if not text.strip():
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return LineError(line, f"invalid JSON: {exc.msg} at column {exc.colno}")
    if not isinstance(value, dict):
        return LineError(line, f"expected a JSON object, got {_kind(value)}")
    return _fields(value, line)


def _fields(value: dict[str, Any], line: int) -> ScoreInput | LineError:
    if "id" not in value:
        return LineError(line, "missing field 'id'")
    ident = value["id"]
    if isinstance(ident, bool) or not isinstance(ident, str | int):
        return LineError(line, f"field 'id' must be a string or an integer, got {_kind(ident)}")
    if "text" not in value:
        return LineError(line, "missing field 'text'")
    if not isinstance(value["text"], str):
        return LineError(line, f"field 'text' must be a string, got {_kind(value['text'])}")
    lang = value.get("lang")
    if lang is not None and not isinstance(lang, str):
        return LineError(line, f"field 'lang' must be a string or null, got {_kind(lang)}")
    return ScoreInput(line, ident, value["text"], lang)


def _kind(value: Any) -> str:
    return {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def render(ident: str | int, score: Score) -> str:
    return json.dumps(
        {
            "id": ident,
            "lang": score.lang,
            "sentiment": score.sentiment,
            "sentiment_scores": {k: round(v, 4) for k, v in score.sentiment_scores.items()},
            "complaint": score.complaint,
            "complaint_score": None if score.complaint_score is None else round(score.complaint_score, 4),
            "category": score.category.value if score.category else None,
            "uncertain": score.uncertain,
            "model": score.model,
        },
        ensure_ascii=False,
    )

"""Decode at the edge: topics carry bytes; this turns them into a record or an ``Invalid``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TypeVar

from pydantic import ValidationError

from models.text_rules import is_blank
from streams.contracts.records import SCHEMA_VERSION, RawMention, Record

R = TypeVar("R", bound=Record)
MAX_MESSAGE_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class Invalid:
    """A message that cannot become a record; it goes to the dead-letter topic."""

    reason: str
    partition: int
    offset: int


def encode(record: Record) -> bytes:
    return record.model_dump_json().encode("utf-8")


def decode(
    model: type[R],
    value: bytes | None,
    partition: int = -1,
    offset: int = -1,
    max_bytes: int = MAX_MESSAGE_BYTES,
) -> R | Invalid:
    """Never raises: every failure becomes an :class:`Invalid` with a one-line reason."""

    def invalid(reason: str) -> Invalid:
        return Invalid(reason, partition, offset)

    if not value:
        return invalid("empty message")
    if len(value) > max_bytes:
        return invalid(f"message is {len(value)} bytes, above the {max_bytes}-byte limit")
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as exc:
        return invalid(f"not valid UTF-8 (byte {value[exc.start]:#04x} at offset {exc.start})")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        return invalid(f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
    if not isinstance(raw, dict):
        return invalid("expected a JSON object")
    version = raw.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        return invalid(f"unsupported schema_version {version!r} (this worker reads {SCHEMA_VERSION})")
    try:
        record = model.model_validate(raw)
    except ValidationError as exc:
        return invalid(validation_reason(exc))
    if isinstance(record, RawMention) and is_blank(record.text):
        return invalid("empty text")
    return record


def validation_reason(exc: ValidationError, limit: int = 3) -> str:
    errors = exc.errors(include_url=False)
    parts = [f"{'.'.join(str(p) for p in e['loc']) or 'record'}: {e['msg']}" for e in errors[:limit]]
    more = f" (+{len(errors) - limit} more)" if len(errors) > limit else ""
    return "invalid record: " + "; ".join(parts) + more

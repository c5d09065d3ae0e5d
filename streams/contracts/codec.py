"""Decode at the edge: topics carry bytes; this turns them into a record or an ``Invalid``."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import ValidationError

from models.text_rules import is_blank
from streams.contracts.limits import MAX_JSON_DEPTH, MAX_MESSAGE_BYTES, MAX_REASON_CHARS
from streams.contracts.records import RawMention, Record

R = TypeVar("R", bound=Record)
_STRINGS = re.compile(rb'"(?:[^"\\]++|\\.)*+(?:"|\\?\Z)', re.DOTALL)
"""A JSON string; linear on any input (an unterminated one runs to the end)."""
_ONE_KIND = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


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
    """Never raises, whatever ``value`` holds: every failure becomes an :class:`Invalid` with a
    one-line reason. Checks the schema version against the versions ``model`` itself reads."""
    parsed = parse_object(value, partition, offset, max_bytes)
    if isinstance(parsed, Invalid):
        return parsed
    reason = version_problem(model, parsed) or ""
    if not reason:
        try:
            record = model.model_validate(parsed)
        except ValidationError as exc:
            reason = validation_reason(exc)
        except Exception as exc:  # a validator that raised something else: still one bad message
            reason = f"invalid record: {type(exc).__name__}: {exc}"
        else:
            if isinstance(record, RawMention) and is_blank(record.text):
                reason = "empty text"
            else:
                return record
    return Invalid(one_line(reason), partition, offset)


def parse_object(
    value: bytes | None, partition: int = -1, offset: int = -1, max_bytes: int = MAX_MESSAGE_BYTES
) -> dict[str, Any] | Invalid:
    """``value`` as a JSON object, not yet validated. Never raises. Cheap checks first: size,
    UTF-8, nesting depth (:data:`MAX_JSON_DEPTH`), so ``json.loads`` never recurses deeply."""
    parsed = _parse(value, max_bytes)
    return parsed if isinstance(parsed, dict) else Invalid(one_line(parsed), partition, offset)


def _parse(value: bytes | None, max_bytes: int) -> dict[str, Any] | str:
    """The JSON object in ``value``, or why there is none."""
    if not value:
        return "empty message"
    if len(value) > max_bytes:
        return f"message is {len(value)} bytes, above the {max_bytes}-byte limit"
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not valid UTF-8 (byte {value[exc.start]:#04x} at offset {exc.start})"
    if too_deep(value):
        return f"JSON nested too deeply (more than {MAX_JSON_DEPTH} levels)"
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
    except RecursionError:
        return "JSON nested too deeply"
    except Exception as exc:  # ValueError for a number of 5,000 digits, say
        return f"invalid JSON: {exc}"
    return parsed if isinstance(parsed, dict) else "expected a JSON object"


def too_deep(value: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the JSON in ``value`` nests arrays and objects more than ``limit`` levels deep
    (brackets inside strings do not count). Exact for valid JSON; for invalid JSON, True only when
    brackets that never close are more than ``limit``. Fast: counts brackets first, and only when
    there are more than ``limit`` does it strip the strings and peel off ``limit`` levels."""
    if value.count(b"[") + value.count(b"{") <= limit:
        return False
    brackets = _STRINGS.sub(b"", value).translate(_ONE_KIND, _NOT_BRACKETS)
    for _ in range(limit):
        brackets = brackets.replace(b"[]", b"")  # the innermost pairs: one level a round
    return b"[]" in brackets or brackets.count(b"[") > limit


def version_problem(model: type[Record], raw: dict[str, Any]) -> str | None:
    """Why ``raw`` (a parsed message) is not in a schema version ``model`` reads; None when it is
    (a message without ``schema_version`` is read as the model's current version)."""
    versions = model.schema_versions()
    if not versions or "schema_version" not in raw:
        return None
    version = raw["schema_version"]
    if any(version == v and type(version) is type(v) for v in versions):
        return None
    reads = ", ".join(str(v) for v in versions)
    return f"unsupported schema_version {_short(version)} (this worker reads {reads})"


def validation_reason(exc: ValidationError, limit: int = 3) -> str:
    errors = exc.errors(include_url=False)
    parts = [f"{'.'.join(str(p) for p in e['loc']) or 'record'}: {e['msg']}" for e in errors[:limit]]
    more = f" (+{len(errors) - limit} more)" if len(errors) > limit else ""
    return one_line("invalid record: " + "; ".join(parts) + more)


def one_line(text: str, limit: int = MAX_REASON_CHARS) -> str:
    """``text`` fit for a log line and a table: whitespace runs (newlines too) become one space,
    control characters and lone surrogates are escaped, and at most ``limit`` characters kept."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    text = _CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}", " ".join(text.split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."

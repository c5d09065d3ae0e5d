"""Mention files for replay: JSON Lines (one raw mention per line) or CSV (flattened columns).

Lines are passed on as they are: validation is the worker's job, so a bad line ends up in the
dead-letter topic with its reason instead of vanishing in a collector log.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from streams.contracts.records import thread_key

CSV_COLUMNS = (
    "platform",
    "native_id",
    "brand",
    "author_id",
    "author_name",
    "author_followers",
    "text",
    "url",
    "created_at",
    "parent_id",
    "thread_id",
    "source",
    "from_brand",
    "channel",
    "lang",
)

PLAIN_COLUMNS = tuple(c for c in CSV_COLUMNS if not c.startswith("author_") and c != "from_brand")


@dataclass(frozen=True, slots=True)
class Line:
    number: int
    value: bytes
    key: bytes | None
    """Brand and thread when the line can be read; None lets the producer spread it."""
    created_at: datetime | None


def read(path: Path) -> Iterator[Line]:
    if path.suffix.lower() == ".csv":
        yield from _csv(path)
    else:
        yield from _jsonl(path)


def _jsonl(path: Path) -> Iterator[Line]:
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, 1):
            value = raw.rstrip(b"\r\n")
            if value.strip():
                yield _line(number, value, _json(value))


def _csv(path: Path) -> Iterator[Line]:
    with path.open(encoding="utf-8", errors="surrogateescape", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [
            c
            for c in ("platform", "native_id", "brand", "text", "created_at")
            if c not in (reader.fieldnames or [])
        ]
        if missing:
            raise ValueError(f"{path}: CSV header lacks required columns: {', '.join(missing)}")
        for number, row in enumerate(reader, 2):
            record = csv_record(row)
            value = json.dumps(record, ensure_ascii=False).encode("utf-8", errors="surrogateescape")
            yield _line(number, value, record)


def csv_record(row: dict[str, str]) -> dict[str, Any]:
    """A CSV row as a raw-mention object; values that do not convert are left as text."""

    def blank(v: str | None) -> str | None:
        return v if v not in (None, "") else None

    record: dict[str, Any] = {k: blank(row.get(k)) for k in PLAIN_COLUMNS}
    record["text"] = row.get("text") or ""
    followers = blank(row.get("author_followers"))
    record["author"] = {
        "id": blank(row.get("author_id")) or record["native_id"],
        "name": blank(row.get("author_name")),
        "followers": int(followers) if followers and followers.isdigit() else followers,
    }
    flag = (row.get("from_brand") or "").strip().lower()
    record["from_brand"] = {
        "true": True,
        "1": True,
        "yes": True,
        "false": False,
        "0": False,
        "no": False,
        "": False,
    }.get(flag, flag)
    return {k: v for k, v in record.items() if v is not None}


def _json(value: bytes) -> dict[str, Any] | None:
    try:
        parsed = json.loads(value)
    except (ValueError, UnicodeDecodeError):
        return None
    return parsed if isinstance(parsed, dict) else None


def _line(number: int, value: bytes, record: dict[str, Any] | None) -> Line:
    key, created = None, None
    if record is not None:
        try:
            thread = record.get("thread_id") or record["native_id"]
            key = thread_key(str(record["brand"]), str(record["platform"]), str(thread)).encode()
        except (KeyError, TypeError, UnicodeEncodeError):  # a lone surrogate in the brand, say
            key = None
        try:
            created = datetime.fromisoformat(str(record["created_at"]).replace("Z", "+00:00"))
            created = created if created.tzinfo else None
        except (KeyError, ValueError):
            created = None
    return Line(number, value, key, created)


def count_lines(path: Path) -> int:
    with path.open("rb") as fh:
        total = sum(1 for line in fh if line.strip())
    return total - 1 if path.suffix.lower() == ".csv" else total

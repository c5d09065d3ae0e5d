"""The labelled corpus that ships with Flarewatch: loading and validation."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from models.labels import Category, Sentiment, Stance, stance_of

CORPUS_DIR = Path(__file__).parent / "corpus"
PENDING_DIR = CORPUS_DIR / "pending"
"""Mentions written for the training split but not trained on yet (see the model card): training
reads only ``train/``; tests hold these to the same rules, so moving them in is a file append."""
LANGUAGES: tuple[str, ...] = ("pl", "hu", "en")
_KEYS = {"id", "lang", "text", "sentiment", "complaint", "category", "tags"}


class Split(StrEnum):
    TRAIN = "train"
    TEST = "test"


class CorpusError(ValueError):
    """A corpus line is malformed; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Example:
    id: str
    lang: str
    text: str
    sentiment: Sentiment
    complaint: bool
    category: Category | None
    tags: tuple[str, ...] = ()

    @property
    def stance(self) -> Stance:
        return stance_of(self.sentiment, self.complaint)


def load_split(split: Split, root: Path = CORPUS_DIR) -> list[Example]:
    """All languages of one split, in file order."""
    return [ex for lang in LANGUAGES for ex in load_file(root / split.value / f"{lang}.jsonl")]


def load_pending(root: Path = PENDING_DIR) -> list[Example]:
    """The pending mentions of every language that has a file, in file order."""
    return [
        ex
        for lang in LANGUAGES
        if (root / f"{lang}.jsonl").exists()
        for ex in load_file(root / f"{lang}.jsonl")
    ]


def load_file(path: Path) -> list[Example]:
    examples: list[Example] = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if line.strip():
                examples.append(_parse(line, f"{path}:{number}"))
    return examples


def _parse(line: str, where: str) -> Example:
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CorpusError(f"{where}: invalid JSON ({exc.msg})") from exc
    if not isinstance(raw, dict) or set(raw) != _KEYS:
        raise CorpusError(f"{where}: expected exactly the keys {sorted(_KEYS)}")
    try:
        sentiment = Sentiment(raw["sentiment"])
        category = Category(raw["category"]) if raw["category"] is not None else None
    except ValueError as exc:
        raise CorpusError(f"{where}: {exc}") from exc
    complaint = raw["complaint"]
    if not isinstance(complaint, bool) or (category is None) == complaint:
        raise CorpusError(f"{where}: a complaint needs a category and only a complaint has one")
    if complaint and sentiment is not Sentiment.NEGATIVE:
        raise CorpusError(f"{where}: a complaint must be negative")
    if not isinstance(raw["text"], str) or not raw["text"].strip():
        raise CorpusError(f"{where}: empty text")
    return Example(
        id=str(raw["id"]),
        lang=str(raw["lang"]),
        text=raw["text"],
        sentiment=sentiment,
        complaint=complaint,
        category=category,
        tags=tuple(str(t) for t in raw["tags"]),
    )


def digest(root: Path = CORPUS_DIR) -> str:
    """Of the splits' files (not ``pending/``), as recorded with the weights trained on them."""
    h = hashlib.sha256()
    for path in sorted(p for split in Split for p in (root / split.value).glob("*.jsonl")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]

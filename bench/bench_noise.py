"""Noise detection: duplicate checks per second against 100,000 stored mentions, spam_reason per
second, and the duplicate index's memory and saved state.

    .venv/bin/python bench/bench_noise.py [--stored 100000] [--checks 20000] [--brands 1] [--seed 7]

Texts are generated from the words of the labelled corpus (``models/corpus``), drawn by their
frequency there, 8 to 40 words each: Polish, Hungarian and English mixed.

1. ``DuplicateIndex.check`` filling the index with ``--stored`` mentions, one second apart (the
   window holds them all).
2. ``--checks`` more, with the index full: 80% new texts, 10% exact copies (case and spaces
   changed) and 10% copies with one word changed, of stored mentions; each check also forgets the
   oldest mention (the window slides), so the index stays at ``--stored``. Prints how many copies
   were found: near copies of texts under ~15 words are rightly not (see the module's notes).
3. Memory per remembered mention (``tracemalloc``, on a separate index of ``--memory`` mentions),
   and the state: compact JSON bytes per mention, ``to_json`` + dump and load + ``from_json`` time.
4. ``spam_reason`` on every corpus text, as a customer's post and as the brand's.

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.corpus import Split, load_split
from models.noise import DuplicateIndex, spam_reason
from models.tracking.words import words

START = datetime(2026, 11, 19, tzinfo=UTC)


class Vocabulary:
    def __init__(self, texts: list[str]) -> None:
        counts = Counter(w for text in texts for w in text.split())
        self.words = list(counts)
        self.weights = [float(counts[w]) for w in self.words]

    def text(self, rng: random.Random) -> str:
        return " ".join(rng.choices(self.words, self.weights, k=rng.randint(8, 40)))


def timed(label: str, count: int, run: Callable[[], str]) -> float:
    start = time.perf_counter()
    note = run()
    seconds = time.perf_counter() - start
    rate = count / seconds
    print(f"{label:<46} {rate:>10,.0f} /s {1e6 / rate:>9,.1f} µs each  {note}")
    return rate


def copies_of(stored: list[str], count: int, vocabulary: Vocabulary, rng: random.Random) -> list[str]:
    """80% new texts, 10% exact copies, 10% one word changed, of stored texts."""
    checks = []
    for _ in range(count):
        roll = rng.random()
        source = rng.choice(stored)
        if roll < 0.1:
            checks.append("  " + source.upper())
        elif roll < 0.2:
            edited = source.split()
            edited[rng.randrange(len(edited))] = rng.choice(vocabulary.words)
            checks.append(" ".join(edited))
        else:
            checks.append(vocabulary.text(rng))
    return checks


def fill(index: DuplicateIndex, texts: list[str], brands: int, offset: int = 0) -> int:
    found = 0
    for i, text in enumerate(texts, offset):
        at = START + timedelta(seconds=i)
        found += index.check(f"m{i}", f"brand{i % brands}", text, at) is not None
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--stored", type=int, default=100_000)
    parser.add_argument("--checks", type=int, default=20_000)
    parser.add_argument("--brands", type=int, default=1)
    parser.add_argument("--memory", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    corpus = [ex.text for split in Split for ex in load_split(split)]
    vocabulary = Vocabulary([" ".join(words(text)) for text in corpus])
    stored = [vocabulary.text(rng) for _ in range(args.stored)]
    mean_words = sum(len(t.split()) for t in stored) / len(stored)
    print(f"{len(vocabulary.words):,} distinct words; {len(stored):,} texts, {mean_words:.1f} words each")

    index = DuplicateIndex(timedelta(seconds=args.stored), max_entries=args.stored + 1)
    timed(
        f"DuplicateIndex.check, filling to {args.stored:,}",
        len(stored),
        lambda: f"{fill(index, stored, args.brands):,} copies among them",
    )
    checks = copies_of(stored[len(stored) // 2 :], args.checks, vocabulary, rng)
    timed(
        f"DuplicateIndex.check, {len(index):,} stored",
        len(checks),
        lambda: (
            f"{fill(index, checks, args.brands, args.stored):,} copies found of ~{args.checks // 5:,} made"
        ),
    )
    print(f"{'remembered after the checks':<46} {len(index):>10,}")

    start = time.perf_counter()
    dumped = json.dumps(index.to_json(), separators=(",", ":"))
    dump_s = time.perf_counter() - start
    start = time.perf_counter()
    loaded = DuplicateIndex.from_json(json.loads(dumped))
    load_s = time.perf_counter() - start
    print(
        f"{'state':<46} {len(dumped) / len(index):>10,.0f} B/mention  {len(dumped) / 1e6:,.1f} MB, "
        f"dump {dump_s:.2f} s, load {load_s:.2f} s ({len(loaded):,} mentions)"
    )

    tracemalloc.start()
    small = DuplicateIndex(timedelta(days=365))
    before = tracemalloc.get_traced_memory()[0]
    fill(small, stored[: args.memory], args.brands)
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    print(f"{'memory':<46} {used / args.memory:>10,.0f} B/mention  ({args.memory:,} remembered)")

    posts = [(text, from_brand) for text in corpus for from_brand in (False, True)]

    def spam() -> str:
        reasons = Counter(spam_reason(t, author=None, from_brand=b) for t, b in posts)
        flagged = sum(n for reason, n in reasons.items() if reason is not None)
        detail = ", ".join(f"{r} {n:,}" for r, n in sorted(reasons.items(), key=str) if r is not None)
        return f"{flagged:,} flagged ({detail})"

    timed(f"spam_reason ({len(posts):,} posts)", len(posts), spam)


if __name__ == "__main__":
    main()

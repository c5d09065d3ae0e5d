"""Tracking rules: the rules of 100 brands against generated Polish, Hungarian and English texts.

    .venv/bin/python bench/bench_rules.py [--brands 100] [--texts 20000] [--processes 2] [--seed 7]

1. ``RuleSet.matching``: one tokenisation per text, only the rules whose required words occur.
2. Every compiled rule on one shared :class:`TextWords` per text (no index).
3. Baselines on a sample: each rule re-tokenising the text (``Rule.matches(str)``), and each
   rule re-parsed for every text (``compile_rule(rule).matches(text)``).
4. ``RuleSet`` in ``--processes`` worker processes (the target: 20,000 texts/s on 2 cores).

Texts/s are for all rules per text. Prints figures and how many (text, brand) matches each way
found; asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.tracking.matcher import Rule, RuleSet, compile_rule
from models.tracking.words import TextWords

SYLLABLES = [
    "za",
    "ku",
    "po",
    "wo",
    "ló",
    "győ",
    "ker",
    "bank",
    "mo",
    "ta",
    "nex",
    "ri",
    "sz",
    "ół",
    "ma",
    "tel",
]
_VOCABULARY = (
    "paczka nie doszła zamówienie reklamacja kurier dostawa obsługa klienta aplikacja nie działa "
    "awaria znowu dzisiaj dlaczego proszę pomocy zwrot pieniędzy faktura infolinia czekam tydzień "
    "ügyfélszolgálat nem működik csomag rendelés késik visszatérítés számla alkalmazás hiba megint "
    "order never arrived refund support app crashed again customer service waiting week delivery "
    "great thanks love it kocham super köszönöm giveaway konkurs wygraj nyereményjáték"
)
WORDS = _VOCABULARY.split()
TEMPLATES = [
    "{n}* NOT giveaway* NOT konkurs*",
    '("{n} {s}" OR {n}) AND (awaria OR "nie działa" OR reklamacj* OR hiba OR refund*)',
    '{n} NEAR/3 zamówieni* OR "{n} app" OR {n} NEAR/3 rendelés',
    '({n} OR {s}{n}) NOT "{n} giveaway" NOT nyeremény*',
    "{n} (paczk* OR csomag OR delivery) NOT (wygraj OR giveaway*)",
]


def brands(count: int, rng: random.Random) -> dict[str, str]:
    names: dict[str, str] = {}
    while len(names) < count:
        name = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3)))
        suffix = rng.choice(["bank", "mobile", "shop", "polska", "zrt", "express"])
        names.setdefault(name, rng.choice(TEMPLATES).format(n=name, s=suffix))
    return names


def texts(count: int, names: list[str], rng: random.Random) -> list[str]:
    found = []
    for _ in range(count):
        words = rng.choices(WORDS, k=rng.randint(6, 30))
        for _ in range(rng.choice([0, 0, 1, 1, 2])):
            name = rng.choice(names)
            words.insert(
                rng.randrange(len(words) + 1), rng.choice([name, name.upper(), name.title() + "owi"])
            )
        text = " ".join(words)
        found.append(rng.choice(["@", "", ""]) + text + rng.choice(["!!!", ".", " 😡", "?"]))
    return found


def timed(label: str, count: int, run: Callable[[], int], reference: float | None = None) -> float:
    start = time.perf_counter()
    matches = run()
    seconds = time.perf_counter() - start
    rate = count / seconds
    ratio = f"  x{reference / rate:,.0f} slower than the RuleSet" if reference else ""
    print(f"{label:<44} {rate:>10,.0f} texts/s {1e6 / rate:>9,.1f} µs/text  {matches:>6} matches{ratio}")
    return rate


def _count_matches(chunk: tuple[list[str], dict[str, str]]) -> int:
    texts_, sources = chunk
    rule_set = RuleSet({name: compile_rule(source) for name, source in sources.items()})
    return sum(len(rule_set.matching(text)) for text in texts_)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--brands", type=int, default=100)
    parser.add_argument("--texts", type=int, default=20_000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    sources = brands(args.brands, rng)
    start = time.perf_counter()
    rules: dict[str, Rule] = {name: compile_rule(source) for name, source in sources.items()}
    elapsed_ms = (time.perf_counter() - start) * 1e3
    print(f"compiled {len(rules)} rules in {elapsed_ms:.0f} ms, e.g. {next(iter(sources.values()))!r}")
    corpus = texts(args.texts, list(sources), rng)
    sample = corpus[: max(1, args.texts // 10)]
    rule_set = RuleSet(rules)
    compiled = list(rules.values())
    mean_words = sum(len(t.split()) for t in corpus) / len(corpus)
    print(f"{len(corpus):,} texts, {mean_words:.1f} words each; all rules per text")

    best = timed("RuleSet.matching", len(corpus), lambda: sum(len(rule_set.matching(t)) for t in corpus))

    def shared() -> int:
        return sum(sum(rule.test(words) for rule in compiled) for words in map(TextWords, corpus))

    timed("every rule on one shared TextWords", len(corpus), shared, best)
    timed(
        f"baseline: each rule re-tokenises ({len(sample):,})",
        len(sample),
        lambda: sum(sum(rule.matches(t) for rule in compiled) for t in sample),
        best,
    )
    few = sample[:100]
    timed(
        f"baseline: each rule re-parsed ({len(few):,})",
        len(few),
        lambda: sum(sum(compile_rule(s).matches(t) for s in sources.values()) for t in few),
        best,
    )
    if args.processes > 1:
        chunks = [(corpus[i :: args.processes], sources) for i in range(args.processes)]
        with ProcessPoolExecutor(args.processes) as pool:
            list(pool.map(_count_matches, [([], sources)] * args.processes))
            timed(
                f"RuleSet in {args.processes} processes",
                len(corpus),
                lambda: sum(pool.map(_count_matches, chunks)),
            )


if __name__ == "__main__":
    main()

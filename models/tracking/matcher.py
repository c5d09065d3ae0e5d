"""Tracking rules compiled once into plain closures over a text's words.

A text is tokenised once (:class:`TextWords`); a compiled rule then only looks words up: a word
is a dict lookup, a wildcard a bisect in the text's sorted words, a phrase consecutive positions,
``A NEAR/n B`` two non-overlapping spans with at most ``n`` words between them, either order.
:class:`RuleSet` holds many rules and skips those whose required words are not in the text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from models.tracking.grammar import And, Near, Node, Not, Phrase, Prefix, Unit, Word, parse
from models.tracking.words import TextWords

Test = Callable[[TextWords], bool]
Spans = Callable[[TextWords], list[tuple[int, int]]]


@dataclass(frozen=True, slots=True)
class Rule:
    """A compiled rule; ``matches`` never raises and never blocks."""

    source: str
    tree: Node
    test: Test

    def matches(self, text: str | TextWords) -> bool:
        return self.test(text if isinstance(text, TextWords) else TextWords(text))


def compile_rule(rule: str) -> Rule:
    """Parse and compile ``rule``; raises :class:`~models.tracking.grammar.RuleSyntaxError`."""
    tree = parse(rule)
    return Rule(rule, tree, _test(tree))


def _test(node: Node) -> Test:
    if isinstance(node, Word):
        word = node.text
        return lambda text: word in text.positions
    if isinstance(node, Prefix):
        prefix = node.text
        return lambda text: text.has_prefix(prefix)
    if isinstance(node, Phrase | Near):
        spans = _spans(node)
        return lambda text: bool(spans(text))
    if isinstance(node, Not):
        inner = _test(node.operand)
        return lambda text: not inner(text)
    tests = tuple(_test(operand) for operand in sorted(node.operands, key=_cost))
    if isinstance(node, And):
        return lambda text: all(test(text) for test in tests)
    return lambda text: any(test(text) for test in tests)


def _cost(node: Node) -> int:
    """Cheap tests first in AND and OR: the result does not depend on the order."""
    return 0 if isinstance(node, Word) else 1 if isinstance(node, Prefix) else 2


def _positions(unit: Word | Prefix, text: TextWords) -> list[int]:
    if isinstance(unit, Word):
        return text.positions.get(unit.text, [])
    return [p for word in text.starting_with(unit.text) for p in text.positions[word]]


def _spans(node: Unit | Near) -> Spans:
    """Where ``node`` occurs: inclusive (first, last) word positions."""
    if isinstance(node, Word | Prefix):
        unit = node
        return lambda text: [(p, p) for p in _positions(unit, text)]
    if isinstance(node, Phrase):
        return _phrase_spans(node.parts)
    left, right, distance = _spans(node.left), _spans(node.right), node.distance
    return lambda text: _near(left(text), right(text), distance)


def _phrase_spans(parts: tuple[Word | Prefix, ...]) -> Spans:
    last = len(parts) - 1

    def spans(text: TextWords) -> list[tuple[int, int]]:
        starts = _positions(parts[0], text)
        for offset in range(1, last + 1):
            if not starts:
                break
            here = set(_positions(parts[offset], text))
            starts = [start for start in starts if start + offset in here]
        return [(start, start + last) for start in starts]

    return spans


def _near(left: list[tuple[int, int]], right: list[tuple[int, int]], distance: int) -> list[tuple[int, int]]:
    found = []
    for a_first, a_last in left:
        for b_first, b_last in right:
            if a_last < b_first:
                if b_first - a_last - 1 <= distance:
                    found.append((a_first, b_last))
            elif b_last < a_first and a_first - b_last - 1 <= distance:
                found.append((b_first, a_last))
    return found


def required(node: Node) -> frozenset[Word | Prefix] | None:
    """Words and prefixes of which a matching text has at least one; None when a text may match
    without any (a rule that is only NOT...)."""
    if isinstance(node, Word | Prefix):
        return frozenset((node,))
    if isinstance(node, Phrase):
        words = [part for part in node.parts if isinstance(part, Word)]
        return frozenset((max(words, key=lambda w: len(w.text)) if words else node.parts[0],))
    if isinstance(node, Near):
        return required(node.left)
    if isinstance(node, Not):
        return None
    found = [required(operand) for operand in node.operands]
    if isinstance(node, And):
        known = [anchors for anchors in found if anchors is not None]
        return min(known, key=_anchor_cost) if known else None
    if any(anchors is None for anchors in found):
        return None
    return frozenset().union(*(anchors for anchors in found if anchors is not None))


def _anchor_cost(anchors: frozenset[Word | Prefix]) -> tuple[int, int]:
    return sum(isinstance(anchor, Prefix) for anchor in anchors), len(anchors)


class RuleSet:
    """Many named rules against one text at a time.

    Indexes each rule's :func:`required` words so that a text only runs the rules it could
    match: the cost per text is about one tokenisation plus the few likely rules."""

    def __init__(self, rules: Mapping[str, Rule] | Iterable[tuple[str, Rule]]) -> None:
        items = list(rules.items() if isinstance(rules, Mapping) else rules)
        self._names = [name for name, _ in items]
        self._tests = [rule.test for _, rule in items]
        self._always: list[int] = []
        self._by_word: dict[str, list[int]] = {}
        self._by_prefix: dict[str, list[int]] = {}
        for index, (_, rule) in enumerate(items):
            anchors = required(rule.tree)
            if anchors is None:
                self._always.append(index)
                continue
            for anchor in anchors:
                table = self._by_word if isinstance(anchor, Word) else self._by_prefix
                table.setdefault(anchor.text, []).append(index)
        self._prefix_lengths = sorted({len(prefix) for prefix in self._by_prefix})

    def matching(self, text: str | TextWords) -> list[str]:
        """Names of the rules ``text`` matches, in the order the rules were given."""
        words = text if isinstance(text, TextWords) else TextWords(text)
        candidates = set(self._always)
        by_word, by_prefix = self._by_word, self._by_prefix
        lengths = self._prefix_lengths
        for word in words.positions:
            found = by_word.get(word)
            if found is not None:
                candidates.update(found)
            size = len(word)
            for length in lengths:  # ascending: a prefix longer than the word cannot match
                if length > size:
                    break
                found = by_prefix.get(word[:length])
                if found is not None:
                    candidates.update(found)
        tests, names = self._tests, self._names
        return [names[index] for index in sorted(candidates) if tests[index](words)]

"""Tracking rules: the Lark grammar and the typed tree a rule parses to.

Syntax, tightest first:

* ``orlen`` a whole word; ``zamów*`` any word starting with ``zamów`` (trailing ``*`` only);
  ``"nie działa"`` an exact phrase (words in this order, nothing between; a ``*`` may end any
  of its words). A bare word with inner ``-``, ``'``, a right single quote or ``.`` (``t-mobile``,
  ``allegro.pl``) is the phrase of its words, as the text is split into words the same way.
* ``A NEAR/n B``: A and B at most ``n`` words apart, either order, not overlapping; A and B are
  words, wildcards or phrases (not groups), and NEAR does not chain.
* ``NOT A``.
* ``A AND B``, or just ``A B`` (implicit AND, an extension of the usual syntax).
* ``A OR B``; parentheses group.

Operators are the uppercase keywords only: ``and``, ``or`` and ``near`` are words. Words are
folded (lowercase, no diacritics; see :mod:`models.tracking.words`) when parsed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError

from models.tracking.words import fold

_GRAMMAR = r"""
?start: disjunction
?disjunction: conjunction ("OR" conjunction)*
?conjunction: negation ("AND"? negation)*
?negation: "NOT" negation -> not_
         | proximity
?proximity: unit NEAR unit -> near
          | unit
          | "(" disjunction ")"
?unit: TERM -> term
     | WILDCARD -> wildcard
     | PHRASE -> phrase

NEAR.3: /NEAR\/\d+/
WILDCARD.2: /\w+(?:[-'\u2019.]\w+)*\*/
TERM: /\w+(?:[-'\u2019.]\w+)*/
PHRASE: /"[^"]*"/
%ignore /\s+/
"""

_PART = re.compile(r"(\w+)(\*)?")


@dataclass(frozen=True, slots=True)
class Word:
    text: str


@dataclass(frozen=True, slots=True)
class Prefix:
    text: str


@dataclass(frozen=True, slots=True)
class Phrase:
    """Two or more words (or prefixes), consecutive and in order."""

    parts: tuple[Word | Prefix, ...]


Unit = Word | Prefix | Phrase


@dataclass(frozen=True, slots=True)
class Near:
    left: Unit
    right: Unit
    distance: int


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Node, ...]


Node = Word | Prefix | Phrase | Near | Not | And | Or


class RuleSyntaxError(ValueError):
    """A rule that does not parse; ``str()`` is one line naming the 1-based ``column``."""

    def __init__(self, reason: str, column: int) -> None:
        super().__init__(f"{reason} at column {column}")
        self.reason = reason
        self.column = column


def parse(rule: str) -> Node:
    """The tree of ``rule``; raises :class:`RuleSyntaxError`."""
    if not rule.strip():
        raise RuleSyntaxError("empty rule", 1)
    try:
        tree = _parser().parse(rule)
        node = _ToNode().transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, RuleSyntaxError):
            raise exc.orig_exc from None
        raise
    except UnexpectedInput as exc:
        raise _syntax_error(rule, exc) from None
    assert isinstance(node, Word | Prefix | Phrase | Near | Not | And | Or)
    return node


@cache
def _parser() -> Lark:
    return Lark(_GRAMMAR, parser="lalr", lexer="basic")


def _syntax_error(rule: str, exc: UnexpectedInput) -> RuleSyntaxError:
    if isinstance(exc, UnexpectedToken) and exc.token.type == "$END":
        return RuleSyntaxError("unexpected end of rule", len(rule.rstrip()) + 1)
    if isinstance(exc, UnexpectedToken):
        return RuleSyntaxError(f"unexpected {_shown(str(exc.token))}", exc.column)
    if isinstance(exc, UnexpectedCharacters):
        char = exc.char
        if char == '"':
            return RuleSyntaxError("unterminated phrase", exc.column)
        return RuleSyntaxError(f"unexpected {_shown(char)}", exc.column)
    return RuleSyntaxError("unexpected end of rule", len(rule.rstrip()) + 1)


def _shown(text: str) -> str:
    return f"'{text}'" if text.isprintable() else repr(text)


def _parts(raw: str, column: int) -> tuple[Word | Prefix, ...]:
    parts = tuple(Prefix(m[1]) if m[2] else Word(m[1]) for m in _PART.finditer(fold(raw)))
    if not parts:
        raise RuleSyntaxError("empty phrase", column)
    return parts


def _unit(parts: tuple[Word | Prefix, ...]) -> Unit:
    return parts[0] if len(parts) == 1 else Phrase(parts)


def _flat(kind: type[And] | type[Or], operands: list[Node]) -> Node:
    flat: list[Node] = []
    for operand in operands:
        flat.extend(operand.operands if isinstance(operand, kind) else (operand,))
    return kind(tuple(flat))


@v_args(inline=True)
class _ToNode(Transformer[Token, Node]):
    def term(self, token: Token) -> Unit:
        if token == "NEAR":
            raise RuleSyntaxError("NEAR needs a distance, as in NEAR/3", token.column or 0)
        return _unit(_parts(str(token), token.column or 0))

    def wildcard(self, token: Token) -> Unit:
        return _unit(_parts(str(token), token.column or 0))

    def phrase(self, token: Token) -> Unit:
        return _unit(_parts(str(token)[1:-1], token.column or 0))

    def near(self, left: Unit, token: Token, right: Unit) -> Near:
        return Near(left, right, int(str(token).partition("/")[2]))

    def not_(self, operand: Node) -> Not:
        return Not(operand)

    def conjunction(self, *operands: Node) -> Node:
        return _flat(And, list(operands))

    def disjunction(self, *operands: Node) -> Node:
        return _flat(Or, list(operands))

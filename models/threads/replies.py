"""What a brand's replies did, and whether a message closes its thread, from the text alone.

Text rules for Polish (``pl``), Hungarian (``hu``) and English (``en``); any other language code
applies all three. Text is folded first (lowercase, diacritics stripped, typographic apostrophes
straightened), so replies typed without diacritics match the same rules.

A solution or a closing counts only when its clause is not negated: "we are not able to refund",
"nie możemy zwrócić pieniędzy" and "sajnos nem tudjuk visszatéríteni" offer no solution. A clause
runs between commas and conjunctions ("but", "ale", "de", ...), so "we cannot refund the order, but
we can send a voucher" still offers one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from enum import StrEnum

from models.augment import strip_diacritics
from models.threads.reply_phrases import TABLES, PhraseTable


class ReplyAction(StrEnum):
    APOLOGISED = "apologised"
    OFFERED_SOLUTION = "offered_solution"
    MOVED_TO_PRIVATE = "moved_to_private"
    HOTLINE_REDIRECT = "hotline_redirect"


class ReplyMistake(StrEnum):
    HOTLINE_REDIRECT = "hotline_redirect"
    PRIVATE_ONLY = "private_only"


_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
_SPACES = re.compile(r"[^\S\n]+")
_SENTENCE = re.compile(r"([^.!?;\n]+)([.!?;\n]*)")
_CLAUSE_MARK = re.compile(r"[,:()\u2013\u2014]| - ")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}")
_PHONE_LIKE = re.compile(r"(?<![\w#/@])\+?\(?\d[\d ()./-]{5,20}\d(?!\w)")
_NOT_PHONE = re.compile(
    r"(?:\d{4}[-./] ?\d{1,2}[-./] ?\d{1,2}"  # 2024-05-01, 2024. 05. 01
    r"|\d{1,2}[-./] ?\d{1,2}[-./] ?\d{4}"  # 01.05.2024
    r"|\d{1,2}[.:]\d{2} ?- ?\d{1,2}[.:]\d{2})\.?"  # opening hours 8.00-20.00
)
_CURRENCY = re.compile(r" ?(?:zl|pln|ft|huf|eur|usd|gbp|%|\u20ac|\$)")
_PRIVATE_ONLY = (
    frozenset({ReplyAction.MOVED_TO_PRIVATE}),
    frozenset({ReplyAction.MOVED_TO_PRIVATE, ReplyAction.APOLOGISED}),
)


def reply_actions(text: str, lang: str) -> frozenset[ReplyAction]:
    """What one brand reply did; an unknown ``lang`` applies every language's rules.

    Any e-mail address or phone number in the reply counts as a hotline redirect, whatever the
    language. Never raises; empty text gives the empty set.
    """
    folded = _fold(text)
    found = {action for table in _tables(lang) for action in _table_actions(folded, table)}
    if _EMAIL.search(folded) or _has_phone(folded):
        found.add(ReplyAction.HOTLINE_REDIRECT)
    return frozenset(found)


def closes_thread(text: str, lang: str) -> bool:
    """True for a brand reply that closes the case ("glad we could help", "sprawa została
    rozwiązana"); not when the closing is negated, conditional ("if the issue is resolved") or
    asked as a question."""
    folded = _fold(text)
    return any(_closes(folded, table) for table in _tables(lang))


def customer_thanks(text: str, lang: str) -> bool:
    """True for a customer's message that thanks and closes ("thanks, got it now").

    Not for sarcastic thanks ("dzięki za nic"), thanks in advance ("előre is köszönöm"), thanks
    with a question, or thanks with a problem still standing ("thanks, but it still doesn't work").
    """
    folded = _fold(text)
    tables = _tables(lang)
    thanked = any(table.thanks.search(folded) for table in tables)
    still_open = "?" in folded or any(table.open_issue.search(folded) for table in tables)
    return thanked and not still_open


def reply_mistakes(public: bool, replies: Sequence[frozenset[ReplyAction]]) -> frozenset[ReplyMistake]:
    """The social-care mistakes in a thread's brand replies, each a reply's ``reply_actions``.

    ``HOTLINE_REDIRECT``: any reply sent the customer to the hotline or an e-mail address.
    ``PRIVATE_ONLY``: the thread is public, it has at least one brand reply, and every reply only
    moved the customer to a private channel: its actions are exactly ``{MOVED_TO_PRIVATE}`` or
    ``{MOVED_TO_PRIVATE, APOLOGISED}``. One reply that answered in public (a solution, a hotline,
    or no private move at all) clears it.
    """
    mistakes: set[ReplyMistake] = set()
    if any(ReplyAction.HOTLINE_REDIRECT in actions for actions in replies):
        mistakes.add(ReplyMistake.HOTLINE_REDIRECT)
    if public and len(replies) > 0 and all(actions in _PRIVATE_ONLY for actions in replies):
        mistakes.add(ReplyMistake.PRIVATE_ONLY)
    return frozenset(mistakes)


def _fold(text: str) -> str:
    return _SPACES.sub(" ", strip_diacritics(text.translate(_APOSTROPHES)).casefold())


def _tables(lang: str) -> tuple[PhraseTable, ...]:
    code = re.split(r"[-_]", lang.strip().casefold(), maxsplit=1)[0]
    chosen = tuple(table for table in TABLES if table.lang == code)
    return chosen or TABLES


def _table_actions(folded: str, table: PhraseTable) -> Iterator[ReplyAction]:
    if table.apology.search(folded):
        yield ReplyAction.APOLOGISED
    if table.private.search(folded):
        yield ReplyAction.MOVED_TO_PRIVATE
    if table.hotline.search(folded):
        yield ReplyAction.HOTLINE_REDIRECT
    if any(not _negated(clause, table) for clause, _ in _clauses(folded, table.solution, table)):
        yield ReplyAction.OFFERED_SOLUTION


def _closes(folded: str, table: PhraseTable) -> bool:
    return any(
        not question and not _negated(clause, table) and not table.hedge.search(clause)
        for clause, question in _clauses(folded, table.closing, table)
    )


def _clauses(folded: str, pattern: re.Pattern[str], table: PhraseTable) -> Iterator[tuple[str, bool]]:
    """The clause around each match of ``pattern``, and whether its sentence is a question."""
    for sentence in _SENTENCE.finditer(folded):
        body = sentence.group(1)
        for match in pattern.finditer(body):
            yield _clause_around(body, match, table), "?" in sentence.group(2)


def _clause_around(body: str, match: re.Match[str], table: PhraseTable) -> str:
    before, after = body[: match.start()], body[match.end() :]
    start = max((cut.start() for cut in _cuts(before, table)), default=0)
    end = min((cut.start() for cut in _cuts(after, table)), default=len(after))
    return before[start:] + match.group() + after[:end]


def _cuts(text: str, table: PhraseTable) -> Iterator[re.Match[str]]:
    yield from _CLAUSE_MARK.finditer(text)
    yield from table.boundary.finditer(text)


def _negated(clause: str, table: PhraseTable) -> bool:
    return table.negation.search(table.harmless.sub(" ", clause)) is not None


def _has_phone(folded: str) -> bool:
    return any(
        _is_phone(found.group().strip(), folded[found.end() : found.end() + 5])
        for found in _PHONE_LIKE.finditer(folded)
    )


def _is_phone(candidate: str, after: str) -> bool:
    digits = sum(ch.isdigit() for ch in candidate)
    groups = len(re.findall(r"\d+", candidate))
    return (
        7 <= digits <= 15
        and (candidate.startswith("+") or groups >= 3)
        and _NOT_PHONE.fullmatch(candidate) is None
        and _CURRENCY.match(after) is None
    )

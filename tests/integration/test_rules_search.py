"""Tracking rules in search: ``to_elasticsearch(rule)`` on the real mentions index finds exactly
the texts the stream matcher accepts, and ``flarewatch search --rule`` end to end.

The property test generates rules (words, trailing wildcards, phrases with wildcard parts,
``NEAR/n``, AND, implicit AND, OR, NOT, nesting) and texts over one small vocabulary of Polish and
Hungarian words, the texts with case and diacritics varied letter by letter (``zamówienie``,
``ZAMOWienie``, ``győr``, ``GYÖR``); it indexes each example's texts once, through the project's
own index templates (:func:`~streams.search.setup.ensure_layout`, ``message`` analysed with the
standard tokenizer + lowercase + asciifolding) and mention documents, then runs many rules on
them and compares the ids found with ``compile_rule(rule).matches(text)``.

Where it runs: the embedded noida-db by default; a real cluster when ``KAFKA_BOOTSTRAP_SERVERS``
and ``ELASTICSEARCH_URL`` are set (the convention of ``tests/integration/conftest.py``).

What noida-db 0.2.3 supports, measured: every query kind ``to_elasticsearch`` writes (``match``;
``bool`` with must/should/must_not and ``minimum_should_match``; ``intervals`` with ``match``
(``ordered``, ``max_gaps``), ``prefix``, ``all_of`` (``ordered``, ``max_gaps``) and ``any_of``),
with Lucene's semantics down to the standard tokenizer's token types (emoji, ``allegro.pl``) and
the overlaps an unordered ``all_of`` allows (why NEAR is written as two ordered ones). Its gap:
in an ordered interval, two neighbours that stand for the same indexed words (``"nie nie"``;
``"zamów* zamówienie"`` when ``zamowienie`` is the only indexed word starting with ``zamow``;
``nie NEAR/2 nie``; the two sides of ``NEAR/0``, which Lucene joins into one phrase, where they
meet) make it ignore ``max_gaps``: ``"nie nie"`` finds "nie x nie" there. So on noida-db the
rules with such neighbours (:func:`repeats`, which knows which words each example indexed) are
left out of the comparison, about a third of the generated ones; against a real cluster every
rule is compared.
``test_noida_db_gap`` pins the gap down, so that a noida-db that fixes it shows up there.

Left out everywhere (known differences, listed in :mod:`models.tracking.elastic`): emoji (a
position in Elasticsearch, not a word to the matcher), a lone ``_`` or decomposed (NFD)
diacritics, which ``test_known_differences`` pins down, with the words joined by ``.``, ``,``,
``:`` or an apostrophe that the index's char filter splits as the matcher does; and ``P NEAR/n P`` with the same phrase
on both sides and ``n`` >= 1, which Lucene's source suggests it gets wrong:
``test_near_with_the_same_phrase_on_both_sides`` checks that on a real cluster (expected to fail).
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from elasticsearch import Elasticsearch, helpers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.tracking.elastic import to_elasticsearch
from models.tracking.grammar import And, Near, Node, Not, Or, Phrase, Prefix, Unit, Word, parse
from models.tracking.matcher import compile_rule
from models.tracking.words import fold, words
from streams.cli.context import AppContext
from streams.cli.search import search as search_command
from streams.config.settings import Settings
from streams.search.client import layout, sync_client
from streams.search.documents import mention_document
from streams.search.layout import Layout
from streams.search.setup import ensure_layout
from tests.factories import T0, mention, scored
from tests.integration.conftest import Servers
from tests.strategies import render_rule

pytestmark = pytest.mark.integration

VOCABULARY = (
    "zamówienie",
    "zamówiłem",
    "zamówić",
    "nie",
    "działa",
    "dział",
    "łódź",
    "győr",
    "gyors",
    "kártya",
    "ő",
)
"""Shared prefixes (``zamów``, ``dział``, ``gyo`` folded), a word inside another (``dział`` in
``działa``) and a one-letter word, so that wildcards, phrases and NEAR often meet."""
SAME_LETTER = {"o": "oóöő", "a": "aá", "l": "lł", "z": "zźż", "e": "eéę", "c": "cć"}
"""Letters that fold to the same one: a text or a rule may write any of them."""
SEPARATORS = (" ", "  ", ", ", "! ", "? ", " - ", "-", "/", "\n", "\t", "... ", " (", ") ", ": ", '"')

Tree = tuple[Any, ...]


@st.composite
def spelled(draw: st.DrawFn, word: str) -> str:
    """``word`` with each letter's case and diacritics drawn: any letter that folds the same."""
    letters = []
    for letter in word:
        picked = draw(st.sampled_from(SAME_LETTER.get(fold(letter), letter)))
        letters.append(picked.upper() if draw(st.booleans()) else picked)
    return "".join(letters)


def _word(pool: list[str]) -> st.SearchStrategy[str]:
    return st.sampled_from(pool).flatmap(spelled)


def _prefix(pool: list[str]) -> st.SearchStrategy[str]:
    cut = st.sampled_from(pool).flatmap(lambda w: st.integers(1, len(w)).map(lambda n: w[:n]))
    return cut.flatmap(spelled)


def _unit(pool: list[str]) -> st.SearchStrategy[Tree]:
    part = st.one_of(st.tuples(st.just("word"), _word(pool)), st.tuples(st.just("prefix"), _prefix(pool)))
    return st.one_of(part, st.tuples(st.just("phrase"), st.lists(part, min_size=2, max_size=3)))


def _tree(pool: list[str]) -> st.SearchStrategy[Tree]:
    near = st.tuples(st.just("near"), _unit(pool), _unit(pool), st.integers(0, 3))
    return st.recursive(
        st.one_of(_unit(pool), near),
        lambda inner: st.one_of(
            st.tuples(st.just("not"), inner),
            st.tuples(st.sampled_from(["and", "implicit", "or"]), st.lists(inner, min_size=2, max_size=3)),
        ),
        max_leaves=6,
    )


def _text(pool: list[str]) -> st.SearchStrategy[str]:
    words = st.lists(st.tuples(_word(pool), st.sampled_from(SEPARATORS)), max_size=9)
    return st.builds(
        lambda start, pairs: start + "".join(w + s for w, s in pairs), st.sampled_from(["", " ", "("]), words
    )


@st.composite
def examples(draw: st.DrawFn) -> tuple[list[str], list[Tree]]:
    """Texts and rules over a few words of the vocabulary (drawn per example), so that phrases
    and NEAR match often enough."""
    pool = draw(st.lists(st.sampled_from(VOCABULARY), min_size=2, max_size=4, unique=True))
    texts = draw(st.lists(_text(pool), min_size=5, max_size=30))
    return texts, draw(st.lists(_tree(pool), min_size=5, max_size=25))


# -- the index ---------------------------------------------------------------------------------


def repeats(node: Node, indexed: AbstractSet[str]) -> bool:
    """Whether an ordered interval in the rule's query has two neighbours that stand for the same
    indexed words: two parts of a phrase in a row (``"nie nie"``; ``"zamów* zamówienie"`` when no
    other indexed word starts with ``zamow``), the two sides of NEAR, or where they meet
    (``dział NEAR/0 "d* nie"``: Lucene flattens the phrases of ``NEAR/0`` into one). noida-db
    ignores ``max_gaps`` there."""
    if isinstance(node, Phrase):
        return any(_terms(a, indexed) == _terms(b, indexed) for a, b in itertools.pairwise(node.parts))
    if isinstance(node, Near):
        left, right = _signature(node.left, indexed), _signature(node.right, indexed)
        meet = node.distance == 0 and (left[-1] == right[0] or right[-1] == left[0])
        return left == right or meet or repeats(node.left, indexed) or repeats(node.right, indexed)
    if isinstance(node, Not):
        return repeats(node.operand, indexed)
    if isinstance(node, And | Or):
        return any(repeats(operand, indexed) for operand in node.operands)
    return False


def same_phrase_near(node: Node) -> bool:
    """``P NEAR/n P``, the same phrase on both sides, ``n`` >= 1 (see :mod:`models.tracking.elastic`)."""
    if isinstance(node, Near):
        return node.distance > 0 and isinstance(node.left, Phrase) and node.left == node.right
    if isinstance(node, Not):
        return same_phrase_near(node.operand)
    if isinstance(node, And | Or):
        return any(same_phrase_near(operand) for operand in node.operands)
    return False


def _terms(part: Word | Prefix, indexed: AbstractSet[str]) -> frozenset[str]:
    if isinstance(part, Word):
        return frozenset({part.text} & indexed)
    return frozenset(word for word in indexed if word.startswith(part.text))


def _signature(unit: Unit, indexed: AbstractSet[str]) -> tuple[frozenset[str], ...]:
    return tuple(_terms(part, indexed) for part in (unit.parts if isinstance(unit, Phrase) else (unit,)))


class Corpus:
    """One mentions index from the project's templates; each example's texts replace the last's.
    ``every_kind``: the server is a real cluster, so rules that :func:`repeats` are compared too."""

    def __init__(self, client: Elasticsearch, names: Layout, every_kind: bool) -> None:
        self.client = client
        self.names = names
        self.every_kind = every_kind
        self.index = names.mention_index(T0)
        self.ids: list[str] = []
        self.words: set[str] = set()
        self.examples = itertools.count()

    def load(self, texts: list[str]) -> list[str]:
        """Index ``texts`` (refreshed, searchable) in place of the previous example's; their ids."""
        self.clear()
        example = next(self.examples)
        docs = [scored(mention(i, native_id=f"e{example}-{i}", text=t)) for i, t in enumerate(texts)]
        actions = [
            {"_index": self.index, "_id": d.mention.mention_id, "_source": mention_document(d)} for d in docs
        ]
        helpers.bulk(self.client, actions, refresh=True)
        self.ids = [d.mention.mention_id for d in docs]
        self.words = {word for text in texts for word in words(text)}
        return self.ids

    def comparable(self, rule: str) -> bool:
        """Whether search is expected to agree with the stream on ``rule`` and the loaded texts,
        on this server (module docstring)."""
        tree = parse(rule)
        return not same_phrase_near(tree) and (self.every_kind or not repeats(tree, self.words))

    def disagreements(self, rules: list[str], texts: list[str]) -> list[str]:
        """Where search and the stream matcher part on the loaded ``texts``, one line per rule."""
        if not rules:
            return []
        found = self.found([to_elasticsearch(rule) for rule in rules])
        lines = []
        for rule, got in zip(rules, found, strict=True):
            compiled = compile_rule(rule)
            expected = {i for i, text in zip(self.ids, texts, strict=True) if compiled.matches(text)}
            if got != expected:
                stream = {texts[self.ids.index(i)]: i in expected for i in sorted(got ^ expected)}
                query = json.dumps(to_elasticsearch(rule), ensure_ascii=False)
                lines.append(
                    f"rule {rule!r}: the stream says {stream} (True: a match), search the opposite; {query}"
                )
        return lines

    def found(self, queries: list[dict[str, Any]]) -> list[set[str]]:
        """The ids each query finds among the loaded texts (one request for all)."""
        body: list[dict[str, Any]] = []
        for query in queries:
            only_these = {"bool": {"must": [query], "filter": [{"ids": {"values": self.ids}}]}}
            body += [
                {"index": self.names.mentions},
                {"query": only_these, "size": len(self.ids), "_source": False},
            ]
        answers = self.client.msearch(body=body)["responses"]
        for query, answer in zip(queries, answers, strict=True):
            assert "error" not in answer, (json.dumps(query, ensure_ascii=False), answer["error"])
        return [{hit["_id"] for hit in answer["hits"]["hits"]} for answer in answers]

    def clear(self) -> None:
        if self.ids:
            deletes = [{"_op_type": "delete", "_index": self.index, "_id": i} for i in self.ids]
            helpers.bulk(self.client, deletes, refresh=True)
            self.ids = []


@pytest.fixture(scope="module")
def corpus(servers: Servers) -> Iterator[Corpus]:
    names = Layout(prefix=f"it-rules-{uuid.uuid4().hex[:8]}")
    with Elasticsearch(servers.search_url, request_timeout=60) as client:
        ensure_layout(client, names, now=T0)
        try:
            yield Corpus(client, names, every_kind=not servers.embedded)
        finally:
            client.indices.delete(index=[names.mention_index(T0), *names.single_indices])
            for name in names.templates():
                client.indices.delete_index_template(name=name)


def assert_agree(corpus: Corpus, rules: list[str], texts: list[str]) -> list[str]:
    """Search and the stream matcher agree on each rule that is :meth:`Corpus.comparable` on
    ``texts``; returns those rules."""
    corpus.load(texts)
    compared = [rule for rule in rules if corpus.comparable(rule)]
    problems = corpus.disagreements(compared, texts)
    assert not problems, "\n".join(problems)
    return compared


# -- the properties ----------------------------------------------------------------------------


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(example=examples())
def test_search_finds_what_the_stream_matcher_matches(
    corpus: Corpus, example: tuple[list[str], list[Tree]]
) -> None:
    texts, trees = example
    assert_agree(corpus, [render_rule(tree) for tree in trees], texts)


def test_examples_of_each_query_kind(corpus: Corpus) -> None:
    """The cases the generator may reach only rarely, written out."""
    texts = [
        "Zamówienie nie DZIAŁA",
        "zamowienie zamowilem",
        "zamówiłem, nie działa",
        "ZAMOWIENIE",
        "nie nie działa",
        "działa nie",
        "Łódź - Győr, gyors kártya",
        "Lodz? GYOR!",
        "ő nie ő",
        "",
    ]
    rules = [
        "zamówienie",
        "zamów*",
        "dział*",
        "dział",
        '"nie działa"',
        '"nie nie"',
        '"zamów* nie"',
        "zamów* NEAR/0 zamówienie",
        "zamów* NEAR/1 zamów*",
        '"nie działa" NEAR/2 działa',
        '"nie działa" NEAR/2 nie',
        "nie NEAR/0 nie",
        "nie NEAR/2 nie",
        "ő NEAR/1 ő",
        "nie NEAR/0 działa",
        "łódź NEAR/1 győr",
        "gyo* NEAR/3 kártya",
        "NOT nie",
        "NOT nie NOT zamów*",
        "zamów* OR łódź",
        "(nie OR ő) NOT działa",
        "NOT (zamów* AND nie) gyors",
        "lodz győr",
    ]
    compared = assert_agree(corpus, rules, texts)
    left_out = ['"nie nie"', "zamów* NEAR/1 zamów*", "nie NEAR/0 nie", "nie NEAR/2 nie", "ő NEAR/1 ő"]
    assert [rule for rule in rules if rule not in compared] == ([] if corpus.every_kind else left_out)


def test_noida_db_gap(corpus: Corpus) -> None:
    """noida-db ignores ``max_gaps`` in an ordered interval whose neighbours stand for the same
    indexed words. If this fails, noida-db has fixed that: drop :func:`repeats`."""
    if corpus.every_kind:
        pytest.skip("a real cluster")
    texts = ["nie x nie", "kartya zamowilem kartya", "dzial a dzial nie", "ok"]
    rules = ['"nie nie"', "nie NEAR/0 nie", '"kart* kartya"', 'dzial NEAR/0 "d* nie"']
    corpus.load(texts)
    assert not any(compile_rule(rule).matches(text) for rule in rules for text in texts)
    assert [len(ids) for ids in corpus.found([to_elasticsearch(rule) for rule in rules])] == [1, 1, 1, 1]
    assert all(repeats(parse(rule), corpus.words) for rule in rules)


@pytest.mark.xfail(reason="Lucene sums start - end + 1 per repeat of a repeated interval", strict=False)
def test_near_with_the_same_phrase_on_both_sides(corpus: Corpus) -> None:
    """Read in Lucene's RepeatingIntervalsSource, not measured: a repeated interval's width is
    summed as ``start - end + 1`` per repeat, right only for one word, so ``max_gaps`` would see
    a gap too large between two repeats of a phrase. A pass here on a real cluster says it is
    fine after all: drop :func:`same_phrase_near` and the note in :mod:`models.tracking.elastic`."""
    if not corpus.every_kind:
        pytest.skip("noida-db ignores max_gaps there anyway (test_noida_db_gap)")
    texts = ["nie działa, nie działa", "nie działa x nie działa", "nie działa x y nie działa", "nie działa"]
    rules = ['"nie działa" NEAR/1 "nie działa"', '"zamów* nie" NEAR/2 "zamów* nie"']
    corpus.load(texts)
    assert corpus.disagreements(rules, texts) == []


def test_known_differences(corpus: Corpus) -> None:
    """What the generator leaves out: where the standard tokenizer and the matcher's words part.
    Each row: rule, text, whether the stream matches, whether search finds it."""
    rows = [
        ("allegro.pl", "kupiłem na allegro.pl", True, True),  # the index splits them too
        ("allegro", "kupiłem na allegro.pl", True, True),
        ("don't", "I don\u2019t know", True, True),
        ("3", "3,5 zł", True, True),
        ("łódź", "sklep.łódź.pl", True, True),
        ('"paczka nie"', "paczka 😡 nie doszła", True, False),
        ("a NEAR/0 b", "a _ b", False, True),
        ("zamówienie", "zamo\u0301wienie", True, False),
    ]
    ids = corpus.load([text for _, text, _, _ in rows])
    found = corpus.found([to_elasticsearch(rule) for rule, _, _, _ in rows])
    seen = [
        (rule, text, compile_rule(rule).matches(text), i in got)
        for (rule, text, _, _), i, got in zip(rows, ids, found, strict=True)
    ]
    assert seen == rows


# -- flarewatch search --rule --------------------------------------------------------------------

MENTIONS = [
    ("zakupowo", "Zamówienie NIE DZIAŁA od rana"),
    ("zakupowo", "zamowilem wczoraj i nie dziala"),
    ("zakupowo", "zamówienie nie działa, giveaway!"),
    ("zakupowo", "wszystko działa"),
    ("kosarka", "zamówienie nie działa"),
]


def test_search_rule_picks_the_mentions_it_matches(settings: Settings) -> None:
    names = layout(settings.elasticsearch)
    docs = [scored(mention(i, brand=brand, text=text, minutes=i)) for i, (brand, text) in enumerate(MENTIONS)]
    with sync_client(settings.elasticsearch) as client:
        ensure_layout(client, names, now=T0)
        actions = [
            {"_index": names.mention_index(T0), "_id": d.mention.mention_id, "_source": mention_document(d)}
            for d in docs
        ]
        helpers.bulk(client, actions, refresh=True)
    app = AppContext()
    app._settings = settings

    def search(*args: str) -> list[str]:
        result = CliRunner().invoke(search_command, ["--json", *args], obj=app, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return [json.loads(line)["_id"] for line in result.stdout.splitlines()]

    rule = 'zamów* NEAR/2 "nie działa" NOT giveaway'
    assert search("--rule", rule) == ["facebook:c4", "facebook:c1", "facebook:c0"]  # newest first
    assert search("--rule", rule, "--brand", "zakupowo") == ["facebook:c1", "facebook:c0"]
    assert search(
        "--rule", rule, "--brand", "zakupowo", "--until", (T0 + timedelta(minutes=1)).isoformat()
    ) == ["facebook:c0"]
    assert search("wczoraj", "--rule", rule) == ["facebook:c1"]
    assert search("--rule", "działa NOT nie") == ["facebook:c3"]
    assert search("--rule", "zamów* NEAR/0 dział*") == []

"""Hypothesis strategies for what the worker's topics carry, good and bad, and the bookkeeping of
the property tests (tests/unit/test_properties_*.py).

Every payload is ``bytes`` (or None, a tombstone) as it would arrive on a topic. The bad ones cover
what a producer can send by mistake or malice: arbitrary bytes, JSON of the wrong shape, nesting up
to 100,000 levels, messages over the byte limit, a wrong type (or a missing value, or an extra key)
in every field, lone surrogates, control characters, extreme numbers and dates, texts at and just
over every length limit, blank texts, unknown platforms and brands, wrong schema versions. Length
limits are read from the contract's JSON schema, so they follow the records wherever they are set.
Raw mentions come first; scored mentions reuse them.
"""

from __future__ import annotations

import functools
import json
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, ParamSpec

from hypothesis import strategies as st

from models.labels import Category
from streams.contracts.limits import MAX_JSON_DEPTH, MAX_MESSAGE_BYTES, MAX_REASON_CHARS
from streams.contracts.records import Channel, Platform, RawMention, Source
from streams.kafka.topics import Topics
from streams.worker.messages import Incoming

P = ParamSpec("P")
Bytes = st.SearchStrategy[bytes]

TOPICS = Topics()
BRANDS = frozenset({"zakupowo", "fotomat"})
"""The brands a worker under test is configured for; any other brand is dead-lettered."""
MAX_DEPTH = 100_000

# -- bookkeeping -------------------------------------------------------------------------------

MIN_CASES = 10_000
"""Generated cases the default run of all property tests must reach together."""
PROPERTIES: set[str] = set()
"""Every counted property test, registered when its module is imported."""
CASES: Counter[str] = Counter()
"""Generated cases run in this session, per property test."""


def counted(test: Callable[P, None]) -> Callable[P, None]:
    """Count each generated case of a property test (apply below ``@given``)."""
    PROPERTIES.add(test.__name__)

    @functools.wraps(test)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        CASES[test.__name__] += 1
        test(*args, **kwargs)

    return run


def readable(reason: str) -> bool:
    """A dead-letter reason fit for a log line and a table: one line, no control characters, short."""
    return (
        0 < len(reason) <= MAX_REASON_CHARS
        and reason.splitlines() == [reason]
        and not any(unicodedata.category(ch) == "Cc" for ch in reason)
    )


# -- limits of the contract ----------------------------------------------------------------------


def _length_limits() -> dict[str, tuple[int, int]]:
    """Field path ("text", "author.id", ...) -> the fewest and most characters the contract accepts."""
    schema = RawMention.model_json_schema()
    limits: dict[str, tuple[int, int]] = {}

    def walk(properties: Mapping[str, Any], prefix: str) -> None:
        for name, spec in properties.items():
            ref = spec.get("$ref", "")
            if ref:
                walk(schema["$defs"][ref.rsplit("/", 1)[1]].get("properties", {}), f"{prefix}{name}.")
            for option in [spec, *spec.get("anyOf", [])]:
                if "maxLength" in option:
                    limits[prefix + name] = (option.get("minLength", 0), option["maxLength"])

    walk(schema["properties"], "")
    return limits


LIMITS = _length_limits()


# -- building payloads ---------------------------------------------------------------------------


def weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """One of the strategies, each ``weight`` times as likely (``one_of`` flattens nested choices
    into equal shares, so the few valid records would drown in the many kinds of bad input)."""
    return st.sampled_from([s for weight, s in choices for _ in range(weight)]).flatmap(lambda s: s)


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def obj(items: Mapping[str, bytes]) -> bytes:
    """A JSON object from keys and raw JSON values (which may be anything, even invalid JSON)."""
    return b"{" + b",".join(dumps(k) + b":" + v for k, v in items.items()) + b"}"


def encoded(mention: Mapping[str, Any], path: str = "", raw: bytes | None = None) -> bytes:
    """The mention as JSON with the value at ``path`` ("text", "author.id") replaced by ``raw``
    (removed when None)."""
    items = _items(mention)
    head, _, tail = path.partition(".")
    if tail:
        inner = _items(mention[head])
        _put(inner, tail, raw)
        items[head] = obj(inner)
    elif head:
        _put(items, head, raw)
    return obj(items)


def with_extra(mention: Mapping[str, Any], key: str, raw: bytes) -> bytes:
    """The mention as JSON with one more key (any string, dots and newlines included)."""
    return obj({**_items(mention), key: raw})


def _items(mention: Mapping[str, Any]) -> dict[str, bytes]:
    return {k: dumps(v) for k, v in mention.items()}


def _put(items: dict[str, bytes], key: str, raw: bytes | None) -> None:
    if raw is None:
        items.pop(key, None)
    else:
        items[key] = raw


# -- good mentions -------------------------------------------------------------------------------

_ID_CHARS = st.characters(exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp"))
identifiers = st.text(_ID_CHARS, min_size=1, max_size=20)
WORDS = ("Zamówienie", "broken", "refund", "super", "kurier nie dziala", "csomag", "köszönöm", "BOOM", "ok")
"""Leading words: complaints, praise, neutral text, and ``BOOM``, which makes the fixed scorer raise."""
texts = st.builds(lambda word, rest: f"{word} {rest}", st.sampled_from(WORDS), st.text(max_size=80))
offsets = st.builds(timezone, st.integers(-14 * 60, 14 * 60).map(lambda m: timedelta(minutes=m)))
moments = st.datetimes(datetime(1990, 1, 2), datetime(2026, 11, 30), timezones=offsets)
"""Plausible mention times: from 1990 (the earliest the contract takes) to before the tests were
written (a mention more than a day in the future is refused)."""


def _iso(moment: datetime) -> str:
    return (
        moment.isoformat().replace("+00:00", "Z")
        if moment.utcoffset() == timedelta(0)
        else moment.isoformat()
    )


authors = st.fixed_dictionaries(
    {"id": identifiers},
    optional={
        "name": st.none() | st.text(max_size=60),
        "followers": st.none() | st.integers(0, 10**12),
    },
)
good_mentions: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {
        "platform": st.sampled_from([p.value for p in Platform]),
        "native_id": identifiers,
        "brand": st.sampled_from(sorted(BRANDS)),
        "author": authors,
        "text": texts,
        "created_at": st.one_of(moments.map(_iso), st.integers(631_152_000, 1_764_460_800)),
    },
    optional={
        "schema_version": st.just(1),
        "url": st.none() | identifiers.map(lambda s: f"https://example.com/{s}"),
        "parent_id": st.none() | identifiers,
        "thread_id": st.none() | identifiers,
        "source": st.sampled_from([s.value for s in Source]),
        "from_brand": st.booleans(),
        "channel": st.sampled_from([c.value for c in Channel]),
        "lang": st.none() | st.sampled_from(["pl", "hu", "en", "pt-BR", "und"]),
    },
)
"""Mentions the contract accepts (as Python values, before encoding)."""
TEMPLATES: tuple[dict[str, Any], ...] = (
    {
        "platform": "facebook",
        "native_id": "c1",
        "brand": "zakupowo",
        "author": {"id": "u1", "name": "Anna K.", "followers": 120},
        "text": "Zamówienie nie dotarło, kurier nie dziala",
        "created_at": "2026-11-19T12:00:00+01:00",
        "thread_id": "post1",
        "parent_id": "post1",
    },
    {
        "schema_version": 1,
        "platform": "x",
        "native_id": "1790000000000000001",
        "brand": "fotomat",
        "author": {"id": "@ünï", "name": None, "followers": None},
        "text": "super 😀 #fotomat @help https://t.co/x",
        "url": "https://x.com/i/1790000000000000001",
        "created_at": 1_763_550_000,
        "parent_id": None,
        "thread_id": None,
        "source": "search",
        "from_brand": False,
        "channel": "public",
        "lang": "pl",
    },
    {
        "platform": "messenger",
        "native_id": " m-7 ",
        "brand": "zakupowo",
        "author": {"id": "page"},
        "text": "Przepraszamy, refund w drodze.",
        "created_at": "2026-11-19T23:59:59.999999Z",
        "from_brand": True,
        "channel": "private",
        "lang": "und",
    },
)
"""A few varied valid mentions for the bad payloads to damage: cheaper than generating one each time."""
templates = st.sampled_from(TEMPLATES)

# -- bad values (raw JSON, or what should have been JSON) ----------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)
"""Any JSON value (NaN and Infinity included, as Python's json writes them)."""

NUMBERS = (
    b"1e400",
    b"-1e400",
    b"1e-400",
    b"-0",
    b"-0.0",
    b"0e0",
    b"NaN",
    b"-Infinity",
    b"Infinity",
    str(2**63).encode(),
    str(2**64).encode(),
    str(-(2**63) - 1).encode(),
    b"1.7976931348623157e308",
    b"5e-324",
    b"01",
    b"+1",
    b".5",
    b"0x10",
)
"""Extreme numbers and number-like tokens a JSON reader may or may not accept."""
numbers: Bytes = st.one_of(
    st.sampled_from(NUMBERS),
    st.sampled_from([4_300, 4_301, 100_000]).map(lambda digits: b"-" + b"9" * digits),
    st.integers(-(10**30), 10**30).map(lambda n: str(n).encode()),
    st.floats(allow_nan=True, allow_infinity=True).map(dumps),
)

ZONES = ("Z", "z", "+00:00", "-14:00", "+14:00", "+23:59", "+24:00", "-99:99", "+5", "+0530", "", " UTC")
dates: Bytes = st.one_of(
    st.builds(
        lambda y, mo, d, h, mi, s, zone: dumps(f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}{zone}"),
        st.sampled_from([0, 1, 1969, 1970, 2026, 9999, 10000]) | st.integers(0, 99_999),
        st.integers(0, 13),
        st.integers(0, 32),
        st.integers(0, 25),
        st.integers(0, 61),
        st.integers(0, 61),
        st.sampled_from(ZONES),
    ),
    st.builds(
        lambda last, hour, zone: dumps(
            f"9999-12-31T{hour:02d}:59:59{zone}" if last else f"0001-01-01T{hour:02d}:00:00{zone}"
        ),
        st.booleans(),
        st.sampled_from([0, 12, 23]),
        st.sampled_from(["Z", "+14:00", "-14:00", "+23:59", "-23:59"]),
    ),
    st.sampled_from(
        [
            "9999-12-31T23:59:59.999999Z",
            "0000-01-01T00:00:00Z",
            "2026-02-29T12:00:00Z",
            "2026-11-19 12:00",
            "2026-11-19",
            "12:00:00",
            "now",
            "",
            "1700000000",
            "P1D",
        ]
    ).map(dumps),
    st.sampled_from([0, -1, 1_700_000_000, 1_700_000_000_000, 10**20, -(10**20), 1e300]).map(dumps),
    numbers,
)
"""Dates at and past the edges: year 0, 1, 9999 and 10000 in every zone, no zone, bad offsets,
epoch numbers."""

SURROGATES: tuple[bytes, ...] = (
    b'"\\ud800"',
    b'"a\\udfffb"',
    b'"\\udc00\\ud800"',
    b'"\\ud83d"',
    b'"\xed\xa0\x80"',
    b'"x\xed\xbf\xbfy"',
    b'"\xc0\xaf"',
    b'"\xf4\x90\x80\x80"',
    b'"\xff"',
)
"""Lone surrogates as JSON escapes and as raw (invalid UTF-8) bytes, and other invalid UTF-8."""
CONTROLS = "".join(map(chr, range(0x20))) + "\x7f\x85\u200b\u200d\u2028\u2029\u202e\u2066\ufeff\ufffe"
controls: Bytes = st.one_of(
    st.text(st.sampled_from(CONTROLS), min_size=1, max_size=12).map(dumps),
    st.text(st.sampled_from(CONTROLS[:0x20]), min_size=1, max_size=4).map(
        lambda s: b'"' + s.encode() + b'"'  # raw control characters inside a JSON string
    ),
    st.builds(lambda a, b: dumps(f"{a}\x1b[2J\x1b]0;pwned\x07{b}"), st.text(max_size=5), st.text(max_size=5)),
)
"""Control and invisible format characters: escaped, raw, and as a terminal escape sequence."""
BLANKS = ("", " ", "\t\n\r ", "\u00a0", "\u3000", "\u2028", "\u200b", "\ufeff", "\u200b \u2060\n")
blanks: Bytes = st.lists(st.sampled_from(BLANKS), min_size=1, max_size=5).map(
    lambda parts: dumps("".join(parts))
)
"""Empty, whitespace-only and invisible-only strings."""
platforms: Bytes = st.one_of(
    st.sampled_from(["X", "Facebook", " x", "x ", "twitter", "myspace", "", "facebook\u0000"]).map(dumps),
    st.text(max_size=12).filter(lambda s: s not in {p.value for p in Platform}).map(dumps),
)
unknown_brands: Bytes = st.text(max_size=12).filter(lambda s: s.strip() not in BRANDS).map(dumps)
versions: Bytes = st.one_of(
    st.sampled_from([b"0", b"2", b"-1", b'"1"', b"1.0", b"1.5", b"true", b"null", b"[1]", b"{}", b"1e400"]),
    st.integers().map(lambda n: str(n).encode()),
    st.just(MAX_MESSAGE_BYTES // 2).map(lambda n: dumps("v" * n)),
)
"""Wrong schema versions; ``1.0`` and ``true`` equal 1 in Python and must not slip through silently."""
keys = st.one_of(
    st.text(max_size=10),
    st.text(st.sampled_from(CONTROLS), min_size=1, max_size=5),
    st.sampled_from(["a\nb", "\x1b[31mred", "schema_version ", "Text", "__class__"]),
    st.just(20_000).map(lambda n: "k" * n),
)
"""Extra keys, with newlines, escape sequences and huge names (they end up in reasons)."""

bad_values: Bytes = st.one_of(
    json_values.map(dumps),
    numbers,
    dates,
    st.sampled_from(SURROGATES),
    controls,
    blanks,
    platforms,
    unknown_brands,
    versions,
)
FIELDS = (
    "schema_version",
    "platform",
    "native_id",
    "brand",
    "author",
    "author.id",
    "author.name",
    "author.followers",
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
TARGETS: dict[str, Bytes] = {
    "created_at": dates,
    "author.followers": numbers,
    "schema_version": versions,
    "platform": platforms,
    "brand": unknown_brands,
    "text": st.one_of(blanks, controls, st.sampled_from(SURROGATES)),
    "native_id": st.one_of(blanks, controls, st.sampled_from(SURROGATES)),
}
"""The bad values each field is most likely to meet, so they come up more often than by chance."""


def nested(depth: int, kind: str, closed: bool) -> bytes:
    """``depth`` levels of arrays or objects, built as bytes (no Python recursion)."""
    opening, closing = (b"[", b"]") if kind == "array" else (b'{"":', b"}")
    return opening * depth + b"0" + (closing * depth if closed else b"")


EDGE_DEPTHS = (
    1,
    MAX_JSON_DEPTH - 1,
    MAX_JSON_DEPTH,
    MAX_JSON_DEPTH + 1,
    999,
    1_000,
    1_001,
    10_000,
    MAX_DEPTH,
)
depths = st.one_of(st.sampled_from(EDGE_DEPTHS), st.integers(1, MAX_DEPTH))
nestings: Bytes = st.builds(nested, depths, st.sampled_from(["array", "object"]), st.booleans())


def at_limits(path: str) -> st.SearchStrategy[tuple[str, int, bytes]]:
    """(path, length, JSON string) around the path's limit: 0, 1, just below, at, just over, far over.

    Filled with one character repeated: ASCII, two-, four-byte (also as an escaped surrogate pair),
    a lone combining mark or NUL; none of them is whitespace, so stripping does not shorten it.
    """
    limit = LIMITS[path][1]
    lengths = st.sampled_from([0, 1, limit - 1, limit, limit + 1, 2 * limit])
    chars = st.sampled_from(["x", "ż", "😀", "\u0301", "\x00"])
    return st.builds(
        lambda n, ch, ascii_: (path, n, json.dumps(ch * n, ensure_ascii=ascii_).encode()),
        lengths,
        chars,
        st.booleans(),
    )


limited = st.sampled_from(sorted(LIMITS)).flatmap(at_limits)
"""A field with a length limit, a length around it, and a JSON string of that many characters."""

# -- payloads --------------------------------------------------------------------------------------


def _pad(payload: bytes, size: int) -> bytes:
    return payload + b" " * max(0, size - len(payload))


good_payloads: Bytes = good_mentions.map(encoded)
payloads: st.SearchStrategy[bytes | None] = st.one_of(
    good_payloads,
    st.none(),
    st.binary(max_size=300),
    json_values.map(dumps),
    nestings,
    st.builds(encoded, templates, st.sampled_from(FIELDS), nestings),
    st.builds(encoded, templates, st.sampled_from(FIELDS), bad_values),
    *(st.builds(encoded, templates, st.just(path), values) for path, values in TARGETS.items()),
    st.builds(encoded, templates, st.sampled_from(FIELDS), st.none()),
    st.builds(with_extra, templates, keys, json_values.map(dumps)),
    st.builds(lambda m, f: encoded(m, f[0], f[2]), templates, limited),
    st.builds(lambda m, n: _pad(encoded(m), MAX_MESSAGE_BYTES + n), templates, st.integers(-1, 2)),
    st.builds(
        lambda m, n: encoded(m, "text", dumps("x" * n)), templates, st.integers(0, 2 * MAX_MESSAGE_BYTES)
    ),
    st.builds(lambda m, n: encoded(m)[:n], templates, st.integers(0, 400)),
)
"""Anything a raw topic can carry (None: a tombstone); now and then a valid mention."""
raw_messages: st.SearchStrategy[bytes | None] = weighted((1, good_payloads), (1, payloads))
"""What a raw topic carries, about half of it valid mentions."""


# -- scored mentions (the index and detect steps' input) ----------------------------------------

T0 = datetime(2026, 11, 19, 12, 0, tzinfo=UTC)
EDGE_TIMES = ("0001-01-01T00:00:00Z", "9999-12-31T23:00:00Z", "9999-12-31T23:59:59Z")
times = weighted(
    (3, st.integers(0, 6 * 60).map(lambda minutes: _iso(T0 + timedelta(minutes=minutes)))),
    (1, st.sampled_from(EDGE_TIMES)),
)
"""Mostly within a few hours (so buckets close and flare), sometimes at the ends of time."""
scores = st.fixed_dictionaries(
    {
        "lang": st.none() | st.sampled_from(["pl", "hu"]),
        "sentiment": st.sampled_from(["negative", "negative", "neutral", "positive", "unscored"]),
        "sentiment_scores": st.dictionaries(
            st.sampled_from(["negative", "neutral", "positive"]), st.floats(0, 1)
        ),
        "complaint": st.booleans(),
        "complaint_score": st.none() | st.floats(0, 1),
        "category": st.none() | st.sampled_from([c.value for c in Category]) | st.text(max_size=10),
        "model": st.just("fixed:1"),
    }
)
good_scored: st.SearchStrategy[dict[str, Any]] = st.builds(
    lambda mention, native_id, at, scores_, scored_at: {
        "mention": {**mention, "native_id": native_id, "created_at": at},
        "scores": scores_,
        "scored_at": scored_at,
    },
    templates,
    st.integers(0, 30).map(lambda n: f"n{n}"),
    times,
    scores,
    times,
)
"""Valid scored mentions; few ids, so some arrive twice (as after a redelivery)."""
complaints: Bytes = good_scored.map(lambda s: encoded(s, "scores.sentiment", b'"negative"'))
"""Valid negative scored mentions: most are the detector's input."""
SCORED_FIELDS = (
    "schema_version",
    "mention",
    "scores",
    "scored_at",
    "scores.sentiment",
    "scores.sentiment_scores",
    "scores.complaint",
    "scores.category",
    "scores.model",
)
scored_payloads: st.SearchStrategy[bytes | None] = weighted(
    (2, good_scored.map(encoded)),
    (2, complaints),
    (
        1,
        st.builds(
            encoded, good_scored, st.just("mention"), good_payloads | nestings | st.sampled_from(SURROGATES)
        ),
    ),
    (1, st.builds(encoded, good_scored, st.sampled_from(SCORED_FIELDS), bad_values)),
    (1, st.builds(encoded, good_scored, st.sampled_from(SCORED_FIELDS), st.none())),
    (1, payloads),
)
"""Anything the scored topic can carry: scored mentions (about half of them valid), with a bad
mention or bad values in their fields, and anything a raw topic carries."""


def batches(
    values: st.SearchStrategy[bytes | None], topic: str, max_size: int = 12
) -> st.SearchStrategy[list[Incoming]]:
    """Messages of one partition with consecutive offsets (so dead letters can be traced back)."""
    return st.builds(
        lambda pairs, partition, start: [
            Incoming(value, key, topic, partition, start + i) for i, (value, key) in enumerate(pairs)
        ],
        st.lists(st.tuples(values, st.none() | st.binary(max_size=40)), max_size=max_size),
        st.integers(0, 63),
        st.integers(0, 2**62),
    )


RuleTree = tuple[Any, ...]
"""A generated tracking rule: ``("word", w)``, ``("prefix", p)``, ``("phrase", [parts])``,
``("near", left, right, n)``, ``("not", inner)``, ``(and|implicit|or, [operands])``."""


def render_rule(tree: RuleTree) -> str:
    """The rule's text, fully parenthesised."""
    kind = tree[0]
    if kind == "word":
        return str(tree[1])
    if kind == "prefix":
        return f"{tree[1]}*"
    if kind == "phrase":
        return '"' + " ".join(render_rule(part) for part in tree[1]) + '"'
    if kind == "near":
        return f"{render_rule(tree[1])} NEAR/{tree[3]} {render_rule(tree[2])}"
    if kind == "not":
        return f"NOT ({render_rule(tree[1])})"
    joiner = {"and": " AND ", "implicit": " ", "or": " OR "}[kind]
    return "(" + joiner.join(render_rule(operand) for operand in tree[1]) + ")"

"""Exact and near-duplicate mentions of a brand: reposts, cross-posts and copy-paste campaigns.

:class:`DuplicateIndex` remembers the mentions of the last ``window`` per brand and says, for each
new one, whether it copies an earlier one: ``Duplicate(original_id, copies)``, where the original
is the first mention of the group and ``copies`` counts the group's copies so far, this one
included (the original is not a copy). The first mention of a text gets None.

What counts as a copy (same brand, timestamps at most ``window`` apart):

* **Exact**: the same text after folding (lowercase, no diacritics, see
  :func:`models.tracking.words.fold`) and collapsing whitespace. Punctuation and emoji still count
  here, so "Nie działa!" and "nie działa" are different texts.
* **Near**: both texts have at least ``min_near_words`` folded words, and their sets of word
  3-shingles (each run of three consecutive words; punctuation, emoji and case never count) have a
  Jaccard similarity of at least ``min_similarity`` (0.6) AND differ by at most ``max_distance``
  words (3). A word changed, added or removed alters at most three shingles on either side, so a
  text with more than ``3 * max_distance`` shingles the other lacks had more words edited than
  that. The similarity bound scales with length: in a 15-word text one changed word leaves 0.63,
  in a 30-word text two leave 0.65, while in a 10-word text one word changed in the middle (0.45)
  already makes a different text. Two customers' "BLIK nie działa od rana, zamówienie 12345..."
  with different order numbers stay apart for the same reason.
* **Short texts** (fewer than ``min_near_words`` words) are matched exactly only. Near matching
  would merge unrelated complaints: "nie działa" and "nie działa znowu" come from different people
  during every outage. Even exact matching of short texts merges some ("Nie działa!!!" written by
  two people); a caller that drops duplicates instead of flagging them may want to skip short
  texts, and the brand's own template replies, altogether.

A copy joins the group of the mention it matched, so a campaign stays one group while its copies
keep coming, even for longer than the window: a copy is compared with the remembered mentions and
with the group's original text (its shingle hashes are kept while any copy is remembered). A
mention id already remembered for the brand is a redelivery: it gets the answer it got the first
time and counts nothing.

Why MinHash-style sketches and not SimHash: with 64-bit SimHash over word 3-shingles, changing one
word of a 20-word text moves the hash by about 10 bits (measured: mean 10.5, and only 1.7% of such
copies land within 3 bits; 14 bits at 10 words, still 5 bits at 80 words). Hamming distance <= 3,
the only distance 4 x 16-bit banding finds without a scan, suits web pages, not posts a few lines
long. The Jaccard similarity of the shingle sets degrades gracefully with the share of words
edited, and MinHash finds it in O(1) look-ups:

* A text's sketch is the shingles that come first under ``SKETCH_SIZE`` (8) fixed 64-bit hash
  orders (splitmix64 of the shingle's hash xor a seed; a shingle's hash combines its words'
  ``blake2b`` digests: all stable across processes, so saved state stays valid). Two texts with
  similarity J share the first shingle of one order with probability J, so they share at least
  one sketch shingle with probability 1 - (1 - J)^8: 99.93% at J = 0.6, 99.6% at 0.5 (LSH banding
  with bands of one row).
* A bucket per sketch shingle lists the remembered texts having it: a check looks up at most 8
  buckets, then computes the exact similarity to each candidate from its stored shingle hashes.
  A bucket keeps one text per group (the newest) and at most ``MAX_BUCKET`` groups (the newest),
  so a campaign of thousands of copies, or a phrase every complaint shares, keeps a check bounded.

Memory is about 1.3 kB per remembered mention (8 bytes per shingle, the sketch, the buckets);
``max_entries`` bounds it (the oldest are forgotten first). Entries older than the window (behind
the newest timestamp seen) are forgotten as checks go, oldest first, each in O(log n).

``to_json`` keeps ids, times and hashes, never texts: about 340 bytes per mention. ``from_json``
rebuilds the buckets. Naive datetimes are taken as UTC. Not thread-safe: one index per collector
thread, or a lock.
"""

from __future__ import annotations

import base64
import heapq
import sys
from array import array
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from hashlib import blake2b
from typing import Any, Final

import numpy as np

from models.tracking.words import fold, words

__all__ = ["MAX_BUCKET", "SKETCH_SIZE", "Duplicate", "DuplicateIndex"]

STATE_VERSION: Final = 1
SHINGLE: Final = 3
"""Words per shingle."""
SKETCH_SIZE: Final = 8
"""Hash orders per sketch (bands of one row): more finds more near copies and costs memory."""
MAX_BUCKET: Final = 32
"""Groups kept per sketch shingle (the newest): bounds a check when many texts share a phrase."""

_SEEDS: Final = np.array(
    [
        int.from_bytes(blake2b(b"flarewatch-minhash-%d" % i, digest_size=8).digest(), "little")
        for i in range(SKETCH_SIZE)
    ],
    dtype=np.uint64,
)
_GOLDEN: Final = np.uint64(0x9E3779B97F4A7C15)
_K0: Final = 0x9E3779B97F4A7C15
_K1: Final = 0xC2B2AE3D27D4EB4F
_MASK: Final = (1 << 64) - 1
_MIX1: Final = np.uint64(0xBF58476D1CE4E5B9)
_MIX2: Final = np.uint64(0x94D049BB133111EB)


@dataclass(frozen=True, slots=True)
class Duplicate:
    original_id: str
    """The group's first mention (it may have been forgotten since, while copies came)."""
    copies: int
    """Copies of that original seen so far, this one included (1 for the first copy)."""


class _Group:
    """An original and its copies: made when the first copy is seen, forgotten with its last
    remembered member."""

    __slots__ = ("copies", "original_id", "template")

    def __init__(self, original_id: str, template: array[int] | None, copies: int = 0) -> None:
        self.original_id = original_id
        self.template = template
        """The original's shingle hashes (None for a short text): copies are compared with it."""
        self.copies = copies


class _Entry:
    __slots__ = ("at", "brand", "copy", "exact", "group", "mention_id", "seq", "shingles", "sketch")

    def __init__(
        self,
        mention_id: str,
        brand: str,
        at: float,
        seq: int,
        exact: int,
        shingles: array[int] | None,
        sketch: tuple[int, ...],
    ) -> None:
        self.mention_id = mention_id
        self.brand = brand
        self.at = at
        self.seq = seq
        self.exact = exact
        self.shingles = shingles
        self.sketch = sketch
        self.group: _Group | None = None
        self.copy = 0

    def __lt__(self, other: _Entry) -> bool:
        return (self.at, self.seq) < (other.at, other.seq)

    @property
    def result(self) -> Duplicate | None:
        if self.group is None or self.copy == 0:
            return None
        return Duplicate(self.group.original_id, self.copy)


def _owner(entry: _Entry) -> object:
    """What a bucket keeps one of: the entry's group, or the entry itself while it has none."""
    return entry.group if entry.group is not None else entry


class _Brand:
    __slots__ = ("buckets", "exact", "ids")

    def __init__(self) -> None:
        self.ids: dict[str, _Entry] = {}
        self.exact: dict[int, _Entry] = {}
        self.buckets: dict[int, _Entry | list[_Entry]] = {}

    def add(self, entry: _Entry) -> None:
        self.ids[entry.mention_id] = entry
        known = self.exact.get(entry.exact)
        if known is None or not entry < known:
            self.exact[entry.exact] = entry
        owner = _owner(entry)
        for key in entry.sketch:
            found = self.buckets.get(key)
            if found is None:
                self.buckets[key] = entry
            elif isinstance(found, _Entry):
                if _owner(found) is not owner:
                    self.buckets[key] = [found, entry]
                elif found < entry:
                    self.buckets[key] = entry
            else:
                _add_to_bucket(found, entry, owner)

    def remove(self, entry: _Entry) -> None:
        if self.ids.get(entry.mention_id) is entry:
            del self.ids[entry.mention_id]
        if self.exact.get(entry.exact) is entry:
            del self.exact[entry.exact]
        for key in entry.sketch:
            found = self.buckets.get(key)
            if found is entry:
                del self.buckets[key]
            elif isinstance(found, list):
                for index, kept in enumerate(found):
                    if kept is entry:
                        del found[index]
                        if len(found) == 1:
                            self.buckets[key] = found[0]
                        break


def _add_to_bucket(bucket: list[_Entry], entry: _Entry, owner: object) -> None:
    for index, kept in enumerate(bucket):
        if _owner(kept) is owner:
            if kept < entry:
                bucket[index] = entry
            return
    bucket.append(entry)
    if len(bucket) > MAX_BUCKET:
        bucket.remove(min(bucket))


def _timestamp(at: datetime) -> float:
    return (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).timestamp()


def _hash(text: str) -> int:
    return int.from_bytes(blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")


def _mixed(values: np.ndarray[Any, np.dtype[np.uint64]]) -> np.ndarray[Any, np.dtype[np.uint64]]:
    """splitmix64's finaliser: a fixed, well-mixed 64-bit permutation (wraps like C)."""
    z = values + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


def _sketch(shingles: array[int]) -> tuple[int, ...]:
    """The distinct shingles that come first under each of the ``SKETCH_SIZE`` hash orders."""
    values = np.frombuffer(shingles, dtype=np.uint64)
    first = _mixed(values[None, :] ^ _SEEDS[:, None]).argmin(axis=1)
    return tuple(sorted(set(values[first].tolist())))


_WORD_HASHES: dict[str, int] = {}
"""Word -> its blake2b hash: words repeat, hashing them is most of a check's cost. Cleared when it
reaches ``_MAX_WORD_HASHES`` (a plain dict is safe enough under the GIL for a cache)."""
_MAX_WORD_HASHES: Final = 1 << 18


def _word_hash(word: str) -> int:
    found = _WORD_HASHES.get(word)
    if found is None:
        if len(_WORD_HASHES) >= _MAX_WORD_HASHES:
            _WORD_HASHES.clear()
        found = _WORD_HASHES[word] = _hash(word)
    return found


def _shingles(found: list[str]) -> array[int]:
    """The distinct hashes of the word 3-shingles, sorted. A shingle's hash combines its words'
    ``blake2b`` hashes as ``a*K0 ^ b*K1 ^ c`` (mod 2^64): order matters, and it is stable
    everywhere; the hash orders of the sketch mix it further."""
    hashes = [_word_hash(word) for word in found]
    return array(
        "Q",
        sorted(
            {
                ((a * _K0) ^ (b * _K1) ^ c) & _MASK
                for a, b, c in zip(hashes, hashes[1:], hashes[2:], strict=False)
            }
        ),
    )


class DuplicateIndex:
    """Exact and near duplicates among a brand's mentions within ``window`` (see the module)."""

    def __init__(
        self,
        window: timedelta,
        max_distance: int = 3,
        *,
        min_similarity: float = 0.6,
        min_near_words: int = 5,
        max_entries: int = 100_000,
    ) -> None:
        if window <= timedelta(0):
            raise ValueError("window must be positive")
        if max_distance < 0:
            raise ValueError("max_distance must be 0 or more")
        if not 0.0 < min_similarity <= 1.0:
            raise ValueError("min_similarity must be in (0, 1]")
        if min_near_words < SHINGLE:
            raise ValueError(f"min_near_words must be {SHINGLE} or more")
        if max_entries < 1:
            raise ValueError("max_entries must be 1 or more")
        self.window = window
        self.max_distance = max_distance
        self.min_similarity = min_similarity
        self.min_near_words = min_near_words
        self.max_entries = max_entries
        self._window_s = window.total_seconds()
        self._brands: dict[str, _Brand] = {}
        self._heap: list[tuple[float, int, _Entry]] = []
        """(time, arrival, entry), oldest first: tuples compare in C."""
        self._seq = 0
        self._now: float | None = None

    def __len__(self) -> int:
        """Mentions remembered, all brands together."""
        return len(self._heap)

    def check(self, mention_id: str, brand: str, text: str, at: datetime) -> Duplicate | None:
        """The original this mention copies (and how many copies it has now), or None; the mention
        is remembered either way. A mention id already remembered for this brand (a redelivery)
        gets the answer it got the first time and counts nothing."""
        ts = _timestamp(at)
        self._now = ts if self._now is None else max(self._now, ts)
        self._expire(self._now - self._window_s)
        index = self._brands.get(brand)
        if index is None:
            index = self._brands[brand] = _Brand()
        known = index.ids.get(mention_id)
        if known is not None:
            return known.result
        normal = " ".join(fold(text).split())
        if not normal:
            return None
        found = words(normal)
        shingles = _shingles(found) if len(found) >= self.min_near_words else None
        entry = _Entry(
            mention_id,
            brand,
            ts,
            self._seq,
            _hash(normal),
            shingles,
            _sketch(shingles) if shingles else (),
        )
        self._seq += 1
        match = self._exact(index, entry) or self._near(index, entry)
        if match is not None:
            group = match.group
            if group is None:
                group = match.group = _Group(match.mention_id, match.shingles)
            group.copies += 1
            entry.group = group
            entry.copy = group.copies
        index.add(entry)
        heapq.heappush(self._heap, (entry.at, entry.seq, entry))
        while len(self._heap) > self.max_entries:
            self._forget(heapq.heappop(self._heap)[2])
        return entry.result

    # -- matching ----------------------------------------------------------------------------

    def _close(self, entry: _Entry, other: _Entry) -> bool:
        return abs(entry.at - other.at) <= self._window_s

    def _exact(self, index: _Brand, entry: _Entry) -> _Entry | None:
        known = index.exact.get(entry.exact)
        return known if known is not None and self._close(entry, known) else None

    def _near(self, index: _Brand, entry: _Entry) -> _Entry | None:
        """The remembered mention whose group this text joins: the candidate (or its group's
        original text) most similar to it, if similar enough; ties go to the oldest."""
        if entry.shingles is None:
            return None
        mine = set(entry.shingles)
        best: tuple[float, _Entry] | None = None
        seen: set[int] = set()
        for key in entry.sketch:
            found = index.buckets.get(key)
            if found is None:
                continue
            for candidate in (found,) if isinstance(found, _Entry) else found:
                if id(candidate) in seen or not self._close(entry, candidate):
                    continue
                seen.add(id(candidate))
                similarity = self._similarity(mine, candidate.shingles)
                group = candidate.group
                if group is not None and group.template is not None and id(group) not in seen:
                    seen.add(id(group))
                    similarity = max(similarity, self._similarity(mine, group.template))
                if similarity >= self.min_similarity and (
                    best is None or similarity > best[0] or (similarity == best[0] and candidate < best[1])
                ):
                    best = (similarity, candidate)
        return None if best is None else best[1]

    def _similarity(self, mine: set[int], theirs: array[int] | None) -> float:
        """Jaccard similarity of the shingle sets; 0.0 when more than ``max_distance`` words
        differ (more than three shingles per word, on either side)."""
        if theirs is None:
            return 0.0
        shared = len(mine.intersection(theirs))
        limit = SHINGLE * self.max_distance
        if len(mine) - shared > limit or len(theirs) - shared > limit:
            return 0.0
        return shared / (len(mine) + len(theirs) - shared)

    # -- forgetting --------------------------------------------------------------------------

    def _expire(self, cutoff: float) -> None:
        heap = self._heap
        while heap and heap[0][0] < cutoff:
            self._forget(heapq.heappop(heap)[2])

    def _forget(self, entry: _Entry) -> None:
        index = self._brands.get(entry.brand)
        if index is not None:
            index.remove(entry)

    # -- state -------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The remembered mentions (ids, times, hashes; never texts), oldest first, and the
        settings: at most ``max_entries`` entries of about 340 bytes each in compact JSON."""
        ordered = [entry for _, _, entry in sorted(self._heap)]
        groups: dict[int, int] = {}
        group_list: list[dict[str, Any]] = []
        entries: list[dict[str, Any]] = []
        for entry in ordered:
            record: dict[str, Any] = {
                "id": entry.mention_id,
                "brand": entry.brand,
                "at": entry.at,
                "exact": f"{entry.exact:016x}",
                "shingles": None if entry.shingles is None else _encode(entry.shingles),
            }
            if entry.group is not None:
                number = groups.get(id(entry.group))
                if number is None:
                    number = groups[id(entry.group)] = len(group_list)
                    template = entry.group.template
                    group_list.append(
                        {
                            "original": entry.group.original_id,
                            "copies": entry.group.copies,
                            "template": None if template is None else _encode(template),
                        }
                    )
                record["group"] = number
                record["copy"] = entry.copy
            entries.append(record)
        return {
            "state_version": STATE_VERSION,
            "window_s": self._window_s,
            "max_distance": self.max_distance,
            "min_similarity": self.min_similarity,
            "min_near_words": self.min_near_words,
            "max_entries": self.max_entries,
            "now": self._now,
            "groups": group_list,
            "entries": entries,
        }

    @classmethod
    def from_json(
        cls,
        state: Mapping[str, Any],
        *,
        window: timedelta | None = None,
        max_distance: int | None = None,
        min_similarity: float | None = None,
        min_near_words: int | None = None,
        max_entries: int | None = None,
    ) -> DuplicateIndex:
        """An index as ``to_json`` left it; a setting given here replaces the saved one (a smaller
        ``max_entries`` or ``window`` forgets the oldest). Raises ValueError for a state of
        another version or shape."""
        if state.get("state_version") != STATE_VERSION:
            raise ValueError(f"unknown duplicate index state version {state.get('state_version')!r}")
        try:
            index = cls(
                window if window is not None else timedelta(seconds=float(state["window_s"])),
                max_distance if max_distance is not None else int(state["max_distance"]),
                min_similarity=min_similarity
                if min_similarity is not None
                else float(state["min_similarity"]),
                min_near_words=min_near_words if min_near_words is not None else int(state["min_near_words"]),
                max_entries=max_entries if max_entries is not None else int(state["max_entries"]),
            )
            index._load(state)
        except (KeyError, TypeError, IndexError, AttributeError) as error:
            raise ValueError(f"malformed duplicate index state: {error!r}") from error
        return index

    def _load(self, state: Mapping[str, Any]) -> None:
        groups_data = state["groups"]
        groups: list[_Group | None] = [None] * len(groups_data)
        for record in state["entries"]:
            shingles = None if record["shingles"] is None else _decode(record["shingles"])
            entry = _Entry(
                str(record["id"]),
                str(record["brand"]),
                float(record["at"]),
                self._seq,
                int(record["exact"], 16),
                shingles,
                _sketch(shingles) if shingles else (),
            )
            self._seq += 1
            number = record.get("group")
            if number is not None:
                group = groups[number]
                if group is None:
                    data = groups_data[number]
                    template = None if data["template"] is None else _decode(data["template"])
                    group = groups[number] = _Group(str(data["original"]), template, int(data["copies"]))
                entry.group = group
                entry.copy = int(record.get("copy", 0))
            index = self._brands.get(entry.brand)
            if index is None:
                index = self._brands[entry.brand] = _Brand()
            index.add(entry)
            heapq.heappush(self._heap, (entry.at, entry.seq, entry))
        now = state.get("now")
        self._now = None if now is None else float(now)
        if self._now is not None:
            self._expire(self._now - self._window_s)
        while len(self._heap) > self.max_entries:
            self._forget(heapq.heappop(self._heap)[2])


def _encode(shingles: array[int]) -> str:
    data = shingles
    if sys.byteorder == "big":
        data = array("Q", shingles)
        data.byteswap()
    return base64.b64encode(data.tobytes()).decode("ascii")


def _decode(text: str) -> array[int]:
    shingles = array("Q", base64.b64decode(text.encode("ascii"), validate=True))
    if sys.byteorder == "big":
        shingles.byteswap()
    return shingles

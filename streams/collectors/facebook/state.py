"""A page source's checkpoint: what it has published, per stream, as a JSON object.

Two kinds of stream state:

- :class:`Watermark` for the edges read newest first (page posts, visitor posts, Instagram media,
  each Messenger conversation's messages): the newest ``created_time`` published, in whole seconds,
  and the ids published at that exact second. The next read starts at that second again (Graph's
  ``since`` has one-second resolution) and skips those ids, so an item written in the same second
  as the last one published is neither lost nor repeated.
- :class:`Thread` for the comments of a post or an Instagram media still active: every comment id
  published within the lookback window, with its time. Comments are re-read over the whole window
  on every poll anyway (a removal can only be seen that way), so this set both skips what was
  published and shows what disappeared. It is bounded by the window: entries older than it are
  dropped, and so is a thread without activity in it.

The conversation list keeps only the newest ``updated_time`` read through (``inbox``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

VERSION = 1


@dataclass(slots=True)
class Watermark:
    newest: int | None = None
    """Epoch seconds of the newest item published; None: nothing yet."""
    ids: set[str] = field(default_factory=set)
    """The ids published at second ``newest``."""

    def fresh(self, at: int, native_id: str) -> bool:
        """Not yet published (as far as this stream can tell)."""
        return self.newest is None or at > self.newest or (at == self.newest and native_id not in self.ids)

    def advance(self, at: int, native_id: str) -> None:
        if self.newest is None or at > self.newest:
            self.newest, self.ids = at, {native_id}
        elif at == self.newest:
            self.ids.add(native_id)

    def floor(self, cutoff: int) -> int:
        """The oldest second to read: the watermark's own, or ``cutoff`` before the first poll."""
        return self.newest if self.newest is not None else cutoff

    def dump(self) -> dict[str, Any]:
        return {"newest": self.newest, "ids": sorted(self.ids)}

    @classmethod
    def load(cls, data: Any) -> Watermark:
        if data is None:
            return cls()
        newest = data["newest"]
        if newest is not None and not isinstance(newest, int):
            raise ValueError("newest must be an integer")
        return cls(newest, {str(i) for i in data["ids"]})


@dataclass(slots=True)
class Thread:
    activity: int
    """Epoch seconds of the newest thing seen in it: the post, its newest comment."""
    known: dict[str, int] = field(default_factory=dict)
    """Published comment id -> its created time, within the lookback window."""
    root: bool = False
    """The post itself was published (so its deletion is a removal too)."""
    created: int | None = None
    """Epoch seconds the post itself was written."""

    def prune(self, cutoff: int) -> None:
        self.known = {k: at for k, at in self.known.items() if at >= cutoff}

    def dump(self) -> dict[str, Any]:
        return {
            "activity": self.activity,
            "known": dict(self.known),
            "root": self.root,
            "created": self.created,
        }

    @classmethod
    def load(cls, data: Any) -> Thread:
        known = {str(k): int(v) for k, v in data["known"].items()}
        created = data.get("created")
        return cls(
            int(data["activity"]), known, bool(data["root"]), None if created is None else int(created)
        )


@dataclass(slots=True)
class PageState:
    posts: Watermark = field(default_factory=Watermark)
    visitor_posts: Watermark = field(default_factory=Watermark)
    threads: dict[str, Thread] = field(default_factory=dict)
    """Active Facebook posts by id."""
    inbox: int | None = None
    """Newest conversation ``updated_time`` whose messages were all read."""
    conversations: dict[str, Watermark] = field(default_factory=dict)
    media: Watermark = field(default_factory=Watermark)
    media_threads: dict[str, Thread] = field(default_factory=dict)
    """Active Instagram media by id."""

    def dump(self) -> dict[str, Any]:
        """A new JSON-serialisable object, sharing nothing with this state."""
        return {
            "version": VERSION,
            "posts": self.posts.dump(),
            "visitor_posts": self.visitor_posts.dump(),
            "threads": {k: t.dump() for k, t in self.threads.items()},
            "inbox": self.inbox,
            "conversations": {k: w.dump() for k, w in self.conversations.items()},
            "media": self.media.dump(),
            "media_threads": {k: t.dump() for k, t in self.media_threads.items()},
        }

    @classmethod
    def load(cls, data: Mapping[str, Any] | None) -> PageState:
        """The state a checkpoint describes; raises ``ValueError`` for one this code did not write."""
        if data is None:
            return cls()
        if data.get("version") != VERSION:
            raise ValueError(f"checkpoint version {data.get('version')!r}, expected {VERSION}")
        try:
            inbox = data["inbox"]
            return cls(
                posts=Watermark.load(data["posts"]),
                visitor_posts=Watermark.load(data["visitor_posts"]),
                threads={str(k): Thread.load(v) for k, v in data["threads"].items()},
                inbox=None if inbox is None else int(inbox),
                conversations={str(k): Watermark.load(v) for k, v in data["conversations"].items()},
                media=Watermark.load(data["media"]),
                media_threads={str(k): Thread.load(v) for k, v in data["media_threads"].items()},
            )
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ValueError(f"malformed checkpoint ({type(exc).__name__}: {exc})") from None

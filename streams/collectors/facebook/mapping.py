"""Graph API items (posts, comments, Messenger messages, Instagram media and comments) as
:class:`RawMention` s. Pure functions of the item and where it was read.

An item without text (a photo, sticker or attachment alone) maps to None: the caller skips it
without counting it as an error. An item whose ``from`` is missing (Graph leaves it out for some
users, e.g. those who have not authorised anything for the page) gets the author
:data:`UNKNOWN_AUTHOR`, the same id every time, so those mentions stay groupable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from streams.contracts.records import Author, Channel, Platform, RawMention, Source

UNKNOWN_AUTHOR = "unknown"
"""Author id of an item Graph returns without ``from``."""


class BadItem(ValueError):
    """An item that cannot be a mention: no id, no readable time, or invalid for the contract."""


def graph_time(value: object) -> datetime:
    """Graph's ``created_time`` / Instagram's ``timestamp`` (``2026-12-01T10:00:00+0000``) in UTC."""
    if not isinstance(value, str):
        raise BadItem("no time")
    try:
        parsed = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise BadItem(f"unreadable time {value[:40]!r}") from None
    if parsed.tzinfo is None:
        raise BadItem(f"time without a zone {value[:40]!r}")
    return parsed.astimezone(UTC)


def epoch(at: datetime) -> int:
    return int(at.timestamp())


def item_id(item: Mapping[str, Any]) -> str:
    value = item.get("id")
    if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
        raise BadItem("no id")
    return str(value)


def author(sender: object, fallback_name: object = None) -> Author:
    """``from`` (``{id, name}``, or ``{id, username}`` on Instagram) as an author."""
    sender = sender if isinstance(sender, dict) else {}
    name = sender.get("name") or sender.get("username") or fallback_name
    name = str(name)[:256] if isinstance(name, str) and name.strip() else None
    sender_id = sender.get("id")
    if not isinstance(sender_id, str | int) or isinstance(sender_id, bool) or not str(sender_id).strip():
        return Author(id=UNKNOWN_AUTHOR, name=name)
    return Author(id=str(sender_id), name=name)


@dataclass(frozen=True, slots=True)
class Where:
    """What an item's mapping needs besides the item."""

    brand: str
    own_id: str
    """The page id (Facebook, Messenger) or the Instagram account id: ``from.id`` equal to it
    means the brand wrote it."""
    platform: Platform = Platform.FACEBOOK
    channel: Channel = Channel.PUBLIC


def mention(
    item: Mapping[str, Any],
    where: Where,
    *,
    text_key: str = "message",
    time_key: str = "created_time",
    url: str | None = None,
    thread_id: str | None = None,
    parent_id: str | None = None,
    sender: object = None,
) -> RawMention | None:
    """The item as a mention; None when it has no text. ``sender`` overrides ``item["from"]``."""
    text = item.get(text_key)
    if not isinstance(text, str) or not text.strip():
        return None
    native_id = item_id(item)
    who = author(item.get("from") if sender is None else sender, item.get("username"))
    try:
        return RawMention(
            platform=where.platform,
            native_id=native_id,
            brand=where.brand,
            author=who,
            text=text,
            url=url if url is not None else _str(item.get("permalink_url")),
            created_at=graph_time(item.get(time_key)),
            parent_id=parent_id if parent_id != native_id else None,
            thread_id=thread_id if thread_id != native_id else None,
            source=Source.ADDRESSED,
            from_brand=who.id == where.own_id,
            channel=where.channel,
        )
    except ValidationError as exc:
        problem = exc.errors()[0]
        raise BadItem(f"{'.'.join(map(str, problem['loc']))}: {problem['msg']}") from None


def parent_of(comment: Mapping[str, Any]) -> str | None:
    """A reply's parent comment id (``parent`` is present only on replies)."""
    parent = comment.get("parent")
    if isinstance(parent, dict):
        return _str(parent.get("id"))
    return _str(parent)


def _str(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        return None
    return str(value)

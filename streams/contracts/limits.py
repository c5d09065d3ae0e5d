"""Size limits of the wire contract, declared once: the codec, the records, the settings'
defaults and the dead letters all read them from here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

MAX_MESSAGE_BYTES: Final = 256 * 1024
"""Largest message the worker decodes from a topic (``worker.max_message_bytes`` by default)."""
MAX_JSON_DEPTH: Final = 32
"""Deepest JSON nesting a message may have; every record is at most a few levels deep."""
MAX_TEXT_CHARS: Final = 20_000
"""Longest mention text."""
MAX_REASON_CHARS: Final = 500
"""Longest dead-letter reason: one readable line, never an echo of a whole message."""
MAX_KEPT_BYTES: Final = 512 * 1024
"""Most of the original message a dead letter keeps (base64); the rest stays in its topic."""
MAX_DEAD_LETTER_BYTES: Final = 2 * 1024 * 1024
"""Decode limit for reading dead letters back (they carry the original in base64)."""
MAX_FOLLOWERS: Final = 2**63 - 1
"""Largest follower count (a signed 64-bit ``long`` in Elasticsearch)."""
EARLIEST_MENTION: Final = datetime(1990, 1, 1, tzinfo=UTC)
"""No mention is older than this: an earlier ``created_at`` is a broken timestamp."""
MAX_CLOCK_SKEW: Final = timedelta(days=1)
"""How far in the future a ``created_at`` may lie (clock skew); a later one would hold the brand's
spike windows in the future and make every real mention look late."""

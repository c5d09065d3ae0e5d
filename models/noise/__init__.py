"""Noise among mentions: spam and off-topic posts (link spam, giveaways, the brand's own ads) and
exact or near duplicates (reposts, copy-paste campaigns). Pure logic: collectors decide what to
drop or flag."""

from models.noise.duplicates import Duplicate, DuplicateIndex
from models.noise.spam import SPAM_REASONS, SpamReason, SpamRules, spam_reason

__all__ = ["SPAM_REASONS", "Duplicate", "DuplicateIndex", "SpamReason", "SpamRules", "spam_reason"]

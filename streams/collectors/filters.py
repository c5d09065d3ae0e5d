"""What a collector keeps: the brands' tracking rules, languages and exclusions, applied to public
mentions (search and feeds) before they are published.

What is addressed to the brand (its page, inbox or account) is never dropped here: it is the
brand's conversation whatever its words. A dropped mention is counted by its reason, never
published.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from models.tracking.matcher import Rule
from models.tracking.words import TextWords
from streams.config.brands import BrandSettings
from streams.contracts.records import RawMention, Source

Reason = str
"""``rule``, ``language``, ``author``, ``domain``, ``brand`` (a brand this process does not know)."""


@dataclass(frozen=True, slots=True)
class _Brand:
    rule: Rule
    languages: frozenset[str]
    authors: frozenset[str]
    domains: tuple[str, ...]


class MentionFilter:
    def __init__(self, brands: Iterable[BrandSettings]) -> None:
        self._brands = {
            b.name: _Brand(
                b.compiled_rule(), frozenset(b.languages), frozenset(b.exclude_authors), b.exclude_domains
            )
            for b in brands
        }

    def reason(self, mention: RawMention) -> Reason | None:
        """Why ``mention`` is dropped; None when it is kept."""
        if mention.source is Source.ADDRESSED:
            return None
        brand = self._brands.get(mention.brand)
        if brand is None:
            return "brand"
        if brand.authors and _author_excluded(mention, brand.authors):
            return "author"
        if brand.domains and mention.url and _on_domain(mention.url, brand.domains):
            return "domain"
        language = _language(mention.lang) if mention.lang else None
        if brand.languages and language not in (None, "und") and language not in brand.languages:
            return "language"
        if not brand.rule.matches(TextWords(mention.text)):
            return "rule"
        return None


def _author_excluded(mention: RawMention, authors: frozenset[str]) -> bool:
    names = {mention.author.id.lower().lstrip("@")}
    if mention.author.name:
        names.add(mention.author.name.lower().lstrip("@"))
    return not names.isdisjoint(authors)


def _on_domain(url: str, domains: tuple[str, ...]) -> bool:
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in domains)


def _language(tag: str) -> str:
    """``pl-PL`` -> ``pl``; ``und`` (X: undetermined) stays unknown."""
    return tag.lower().replace("_", "-").split("-", 1)[0]

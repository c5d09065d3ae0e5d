"""Monitored brands: the tracking rule that says what counts as a mention of each, and where the
brand's own conversations are collected from."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from models.tracking.grammar import RuleSyntaxError
from models.tracking.matcher import Rule, compile_rule
from streams.config.sla import BrandServiceSettings

LANGUAGE = r"^[a-z]{2,3}$"


class SecretRef(BaseModel):
    """Where a token or secret is read from: an environment variable or a mounted file, never the
    YAML itself. The value is read by :func:`streams.config.secrets.read_secret` when a collector
    starts, and never logged."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    token_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    token_file: str | None = None

    @model_validator(mode="after")
    def _one_place(self) -> SecretRef:
        if (self.token_env is None) == (self.token_file is None):
            raise ValueError("give exactly one of token_env or token_file")
        return self


class FacebookPage(SecretRef):
    page_id: str = Field(pattern=r"^[0-9]{1,32}$")
    """The page's numeric id; its posts, visitor posts, comments and Messenger inbox are collected
    with the page access token."""
    messenger: bool = True
    """Read the page's Messenger inbox too (the token then needs ``pages_messaging``)."""


class InstagramAccount(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    account_id: str = Field(pattern=r"^[0-9]{1,32}$")
    """The Instagram business account linked to the brand's Facebook page (read with its page
    token)."""


class XSearch(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    query: str | None = Field(default=None, min_length=1, max_length=4096)
    """An X API v2 search query; None: built from the brand's tracking rule."""


class Feed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(pattern=r"^https?://", max_length=2048)
    platform: Literal["forum", "review", "news", "other"] = "forum"
    """What the feed's items are: the ``platform`` of their mentions."""


class BrandSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    """The id mentions carry in their ``brand`` field."""
    display_name: str | None = None
    terms: tuple[str, ...] = ()
    """Words, handles and hashtags that count as a mention of the brand: the simplest tracking
    rule, any of them (each as an exact phrase). Give ``terms`` or ``rule``, not both."""
    rule: str | None = None
    """A tracking rule: AND, OR, NOT, parentheses, "exact phrases", trailing wildcards and
    ``NEAR/n`` (see ``flarewatch rules test --help``)."""
    languages: tuple[str, ...] = ()
    """ISO 639 codes a public mention must be written in; empty: any language. A mention whose
    language is not known is kept."""
    exclude_authors: tuple[str, ...] = ()
    """Public mentions by these authors (id or handle, any case, with or without ``@``) are
    dropped: the brand's own bots, resellers, known spammers."""
    exclude_domains: tuple[str, ...] = ()
    """Public mentions whose link is on one of these domains (or a subdomain) are dropped."""
    facebook: FacebookPage | None = None
    instagram: InstagramAccount | None = None
    x: XSearch | None = None
    """Present: the brand is searched on X."""
    service: BrandServiceSettings | None = None
    """The brand's business hours and response targets; None: the ``threads:`` section's."""
    feeds: tuple[Feed, ...] = ()
    """RSS or Atom feeds (forums, review sites, blogs, news) read for this brand: URLs, or
    ``{url: ..., platform: review}`` to say what kind of site it is."""

    @field_validator("terms")
    @classmethod
    def _terms(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for term in value:
            if not term.strip():
                raise ValueError("terms must not be empty strings")
            if '"' in term:
                raise ValueError(f"term {term!r}: a term must not contain a double quote")
            _compile(_quoted(term))
        return value

    @field_validator("rule")
    @classmethod
    def _rule(cls, value: str | None) -> str | None:
        if value is not None:
            _compile(value)
        return value

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        codes = tuple(code.strip().lower() for code in value)
        for code in codes:
            if not re.fullmatch(LANGUAGE, code):
                raise ValueError(f"language {code!r}: use an ISO 639 code such as pl or hu")
        return codes

    @field_validator("exclude_authors", "exclude_domains")
    @classmethod
    def _lowercase(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v.strip().lower().lstrip("@") for v in value if v.strip())

    @field_validator("feeds", mode="before")
    @classmethod
    def _feed_urls(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return [{"url": item} if isinstance(item, str) else item for item in value]
        return value

    @model_validator(mode="after")
    def _rule_or_terms(self) -> BrandSettings:
        if self.rule is None and not self.terms:
            raise ValueError("give the brand a tracking rule (rule) or its terms")
        if self.rule is not None and self.terms:
            raise ValueError("give rule or terms, not both: terms are the simplest rule")
        return self

    @property
    def tracking_rule(self) -> str:
        """The rule's text: ``rule``, or the terms as ``"a" OR "b"``."""
        return self.rule if self.rule is not None else " OR ".join(_quoted(t) for t in self.terms)

    def compiled_rule(self) -> Rule:
        return compile_rule(self.tracking_rule)


def _quoted(term: str) -> str:
    return f'"{term.strip()}"'


def _compile(rule: str) -> Rule:
    try:
        return compile_rule(rule)
    except RuleSyntaxError as exc:
        raise ValueError(f"rule {rule!r}: {exc}") from None

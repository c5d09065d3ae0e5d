"""Spam and off-topic flagging: link spam, giveaways and the brand's own ads, in EN/PL/HU.

``spam_reason`` gives a short reason code (:data:`SPAM_REASONS`) or None. It is deliberately
conservative: Flarewatch exists to catch complaints, so a complaint wrongly flagged as spam costs
far more than an ad let through. Hence:

* Word lists match folded whole words (:func:`models.tracking.words.words`: lowercase, no
  diacritics), never substrings: ``sale`` does not match "wholesale", ``nyerj`` does not match
  "kenyerjegy". A list entry is one or more words; a word ending in ``*`` matches words starting
  with it (for inflections: ``konkurs*`` matches "konkursie"), a lone ``*`` matches any one word
  (``tag * friend*`` matches "tag a friend", "tag 2 friends").
* Any complaint wording (:data:`COMPLAINT_WORDS`: "did not work", "nie działa", "nem működik",
  "scam", "reklamacja"...) anywhere in the text vetoes every reason: "the discount code did not
  work" is a complaint that happens to mention a discount. For the brand's own posts, service
  wording (:data:`BRAND_SERVICE_WORDS`: apologies, "send us a DM") vetoes too: a reply offering a
  discount code as an apology is customer service, not an ad.
* Weak giveaway cues ("konkurs", "prize", "sorsolás") need a second cue; strong ones ("giveaway",
  "wygraj", "nyerj", "tag a friend") do not.
* A link is spam only when it is shortened or on a scam-favoured domain, one of several (more
  than ``max_links``), or next to a sales pitch or clickbait ("use code", "buy here", "kliknij",
  "bitcoin", "link in bio"). Mere promotional words next to a link are not enough: complaints about promotions
  carry them and often a link (see :data:`PROMO_WORDS`). The brand's own links are never link
  spam; its promotions are ``brand_ad``.

* The author's name ("Konkursy i Rozdania", "Best Deals") adds one cue, never a reason alone.

Reasons are checked in the order ``giveaway``, ``brand_ad`` (brand posts only), ``link_spam``
(everyone else's posts only). Pure and thread-safe: a :class:`SpamRules` is immutable once built.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Final, Literal

from models.tracking.words import fold, words

__all__ = [
    "BRAND_SERVICE_WORDS",
    "COMPLAINT_WORDS",
    "GIVEAWAY_HINTS",
    "GIVEAWAY_WORDS",
    "LINK_BAIT_WORDS",
    "LINK_MENTIONS",
    "PROMO_WORDS",
    "SALES_PITCH_WORDS",
    "SHORTENERS",
    "SPAM_REASONS",
    "SPAM_TLDS",
    "SpamReason",
    "SpamRules",
    "spam_reason",
]

SpamReason = Literal["link_spam", "giveaway", "brand_ad"]
SPAM_REASONS: Final[tuple[SpamReason, ...]] = ("link_spam", "giveaway", "brand_ad")
"""Every code ``spam_reason`` returns: a bounded set, safe as a metrics label."""

GIVEAWAY_WORDS: Final[tuple[str, ...]] = (
    # EN
    "giveaway*",
    "tag * friend*",
    "tag * * friend*",
    "tag friend*",
    "chance to win",
    "enter to win",
    "comment to win",
    # PL
    "wygraj*",
    "do wygrania",
    "rozdaj*",
    "rozdanie",
    "rozdaniu",
    "oznacz * znajom*",
    "oznacz znajom*",
    "oznaczcie * znajom*",
    "oznaczcie znajom*",
    # HU
    "nyeremenyjatek*",
    "nyerj",
    "nyerjen",
    "nyerd meg",
    "nyerheted",
    "nyerhetsz",
    "nyerhet",
    "kisorsol*",
    "sorsolunk",
    "jelold meg * ismeros*",
    "jelolj meg * ismeros*",
    "jelold meg * baratod*",
    "jelolj meg * barat*",
    "jelolj * ismeros*",
)
"""Strong giveaway cues: one is enough. They are the call to enter ("wygraj", "nyerj", "enter to
win") or the giveaway's own name ("giveaway", "rozdanie", "nyereményjáték"); customers complaining
about a giveaway use them too, which the complaint veto catches ("konkurs to ustawka", "the
giveaway was rigged")."""

GIVEAWAY_HINTS: Final[tuple[str, ...]] = (
    # EN
    "contest*",
    "sweepstake*",
    "prize*",
    "winner*",
    "like and share",
    "like share",
    "share this post",
    "follow us",
    "win a",
    "win an",
    "give away",
    "giving away",
    # PL
    "konkurs*",
    "nagrod*",
    "losowanie",
    "losujemy",
    "zwyciezc*",
    "regulamin*",
    "udostepnij*",
    "polub*",
    "skomentuj*",
    "obserwuj*",
    # HU
    "sorsolas*",
    "nyeremeny*",
    "nyertes*",
    "jatekszabaly*",
    "oszd meg",
    "osszatok meg",
    "lajkold",
    "kovess*",
)
"""Weak giveaway cues: two are needed (or one plus the author's name). Each also has an everyday
meaning: "konkurs" is a job competition, "prize" and "nagroda" an award, "sorsolás" any draw,
"win a"/"give away" ordinary verbs, "obserwuj"/"follow us" an ordinary call to follow."""

PROMO_WORDS: Final[tuple[str, ...]] = (
    # EN
    "sale",
    "on sale",
    "discount*",
    "promo",
    "promo code*",
    "promocode*",
    "coupon*",
    "voucher*",
    "deals",
    "hot deal*",
    "black friday",
    "cyber monday",
    "buy now",
    "shop now",
    "order now",
    "today only",
    "free shipping",
    "free delivery",
    # PL
    "promocj*",
    "promocyjn*",
    "rabat*",
    "kod* rabatow*",
    "kupon*",
    "wyprzedaz*",
    "obnizk*",
    "przecen*",
    "taniej",
    "gratis",
    "za darmo",
    "darmow* dostaw*",
    "black week",
    "tylko dzis",
    # HU
    "akcio*",
    "kedvezmeny*",
    "learazas*",
    "leertekeles*",
    "engedmeny*",
    "kuponkod*",
    "kiarusitas*",
    "csak ma",
    "ingyenes szallitas*",
    "ingyen*",
)
"""Promotional wording: on the brand's own post it makes the post a ``brand_ad``. On anyone
else's it flags nothing, link or not: customers use these words in complaints all the time ("kod
rabatowy nie działa", "a kedvezmény nem jelent meg", "free delivery over £40, still charged"). Of
the 1,534 labelled complaints in ``models/corpus``, 94 (6%) would be link spam if "promo word +
link" were the rule and they carried a link; :data:`SALES_PITCH_WORDS` is that rule instead."""

SALES_PITCH_WORDS: Final[tuple[str, ...]] = (
    # EN
    "order here",
    "buy here",
    "shop here",
    "use code",
    "use my code",
    "with code",
    "special offer*",
    "limited offer*",
    "limited time",
    "limited stock",
    "save up to",
    "check out my",
    "visit my",
    # PL
    "kup teraz",
    "kupuj teraz",
    "zamow teraz",
    "zamow juz",
    "uzyj kodu",
    "z kodem",
    "wpisz kod",
    "sprawdz oferte",
    "zapraszam do mojego",
    "zapraszam na moj*",
    # HU
    "vasarolj*",
    "rendeld meg",
    "rendelje meg",
    "rendelj most",
    "koddal",
    "kuponkoddal",
    "hasznald a kodot",
    "nezd meg a webshop*",
)
"""The call to buy: promotional wording that sells rather than mentions. It makes the brand's own
post a ``brand_ad`` and anyone else's post with a link ``link_spam`` (a complaint says "the code
was not applied", not "use code")."""

PROMO_PATTERN: Final = re.compile(
    r"(?<![\w.,])-\s?\d{1,2}\s?%|\b\d{1,2}\s?%\s?(?:off|taniej|rabatu|kedvezmeny\w*|olcsobb\w*)\b"
)
"""Percent-off wording ("-30%", "20% off", "20% taniej", "30% kedvezmény") on the folded text:
counted like :data:`PROMO_WORDS` (brand posts only)."""

LINK_BAIT_WORDS: Final[tuple[str, ...]] = (
    "click here",
    "click the link",
    "link in bio",
    "link w bio",
    "kliknij*",
    "kattints*",
    "earn money",
    "make money",
    "zarabiaj",
    "zarabiajcie",
    "zarob",
    "penzkereset*",
    "crypto*",
    "bitcoin*",
    "kryptowalut*",
    "kriptovalut*",
    "forex",
    "casino*",
    "kasyn*",
    "kaszino*",
    "bukmacher*",
    "onlyfans",
)
"""What link spam from strangers says that brand ads do not: clickbait and the usual scams. Only
ever counted next to a link, never on the brand's own post."""

COMPLAINT_WORDS: Final[tuple[str, ...]] = (
    # EN
    "not work*",
    "didn t work*",
    "doesn t work*",
    "don t work*",
    "won t work*",
    "isn t work*",
    "wasn t work*",
    "not valid",
    "invalid",
    "not accepted",
    "wasn t accepted",
    "not applied",
    "didn t apply",
    "doesn t apply",
    "wasn t applied",
    "never arrived",
    "never received",
    "never got",
    "didn t get",
    "didn t receive",
    "haven t received",
    "not received",
    "still waiting",
    "where is my",
    "refund*",
    "complain*",
    "scam*",
    "fraud*",
    "rigged",
    "cheat*",
    "ripped off",
    "rip off",
    "overcharged",
    "charged twice",
    "still charged",
    "charged me",
    "got charged",
    "broken",
    "error*",
    "problem*",
    "issue*",
    "worst",
    "terrible",
    "awful",
    "disappointed",
    "useless",
    "misleading",
    "fake",
    # PL
    "nie dziala*",
    "nie dzialal*",
    "nie zadzialal*",
    "nie przyjmuje",
    "nie przyjal*",
    "nie przyjela",
    "nie nalicz*",
    "nie dostal*",
    "nie dostane",
    "nie otrzymal*",
    "nie doszl*",
    "nie dotarl*",
    "nie moge",
    "dolicz*",
    "nie reaguj*",
    "nieaktywn*",
    "niewazn*",
    "nieprawidlow*",
    "odrzuc*",
    "blad*",
    "bled*",
    "reklamacj*",
    "zwrot pieniedzy",
    "zwrotu pieniedzy",
    "oszust*",
    "oszuk*",
    "naciag*",
    "ustawk*",
    "skandal*",
    "zenada",
    "falszyw*",
    "gdzie jest moj*",
    "gdzie moj*",
    "nadal nie",
    "wciaz nie",
    "dalej nie",
    # HU
    "nem mukodik",
    "nem mukodott",
    "nem mukodnek",
    "nem jo",
    "nem fogadja",
    "nem fogadta",
    "nem fogadjak",
    "nem kaptam",
    "nem kaptuk",
    "se kaptam",
    "sem kaptam",
    "se kaptuk",
    "sem kaptuk",
    "azota se",
    "azota sem",
    "nem erkezett",
    "nem jott",
    "nem ervenyes",
    "nem jelent meg",
    "felszamol*",
    "nem reagal*",
    "nem vonta le",
    "ervenytelen*",
    "hiba*",
    "hibas*",
    "panasz*",
    "reklamaci*",
    "visszateri*",
    "csalas*",
    "atveres*",
    "atvertek",
    "atvernek",
    "probl*",
    "botrany*",
    "kamu*",
    "felhaborito*",
    "hol van a",
    "meg mindig nem",
)
"""Complaint wording: if any of these occurs anywhere, nothing is flagged. Failures of the very
thing an ad or giveaway offers ("kod rabatowy nie działa", "a kupon érvénytelen", "the code was
not applied"), missing orders and money, and the words people use for a rip-off. A spammer can
slip past by writing "problem", which is the price of never hiding a complaint."""

BRAND_SERVICE_WORDS: Final[tuple[str, ...]] = (
    "sorry",
    "apolog*",
    "we re sorry",
    "message us",
    "dm",
    "direct message",
    "order number",
    "przepraszam*",
    "przykro nam",
    "prywatn*",
    "priv",
    "numer zamowienia",
    "wiadomosc*",
    "elnezes*",
    "sajnal*",
    "privat*",
    "rendelesszam*",
    "uzenet*",
    "rozumiemy",
    "we understand",
    "megertjuk",
    "pani",
    "pania",
    "panie",
    "pana",
)
"""On the brand's own posts only: apologies, requests to talk privately, "we understand" and the
Polish polite address of one person ("Pani Magdo", "Panie Pawle"), all signs of a reply to
someone. A reply to a complaint that offers a discount code ("przepraszamy, w ramach przeprosin
kod rabatowy...") is customer service, not an ad."""

SHORTENERS: Final[frozenset[str]] = frozenset(
    {
        "bit.ly",
        "bitly.com",
        "tinyurl.com",
        "goo.gl",
        "ow.ly",
        "is.gd",
        "v.gd",
        "buff.ly",
        "rebrand.ly",
        "cutt.ly",
        "shorturl.at",
        "t.ly",
        "rb.gy",
        "tiny.cc",
        "s.id",
        "bl.ink",
        "shorte.st",
        "adf.ly",
        "amzn.to",
        "urlz.fr",
        "linktr.ee",
        "t.me",
        "wa.me",
        "chat.whatsapp.com",
    }
)
"""Link shorteners, link-in-bio pages and chat invitations: a link to one is link spam on its own.
They hide where a link goes or move the talk to a private chat, and complaints do not use them.
``t.co`` (and ``lnkd.in``) are absent on purpose: X wraps EVERY link and attached photo in a
post's text as ``t.co``, so a customer's tweet with a screenshot would be "link spam". They still
count as links (for ``max_links`` and a pitch + link); add them with
``SpamRules(extra_shorteners=...)`` where texts arrive with links already expanded."""

SPAM_TLDS: Final[frozenset[str]] = frozenset(
    {"xyz", "top", "win", "club", "click", "link", "icu", "buzz", "loan", "bid", "vip", "cfd", "sbs", "info"}
)
"""Top-level domains favoured by throwaway scam and phishing sites ("odbierz nagrodę:
nagrody-promo24.xyz", "pay the customs fee: quickpost-delivery-fee.info"): a link there is link
spam on its own, and a bare ``name.xyz`` counts as a link. Shops and customers link to ``.pl``,
``.hu``, ``.com``..., which never count without a path (a bare "allegro.pl" is a shop's name)."""

LINK_MENTIONS: Final[tuple[str, ...]] = (
    "link in bio",
    "link in my bio",
    "link in comments",
    "link below",
    "link w bio",
    "link w profilu",
    "link w moim profilu",
    "link ponizej",
    "link a bioban",
    "link a profilomban",
    "check my page",
    "check my profile",
    "nezd a profilomat",
    "nezd meg a profilomat",
)
"""Pointers to a link the post itself does not carry ("link in bio", "nézd a profilomat"): each
counts as one link, and as clickbait (strangers' spam says it; complaints do not)."""

_URL: Final = re.compile(r"\b(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)
_BARE: Final = re.compile(r"(?<![\w@./:-])((?:[a-z0-9-]+\.)+[a-z]{2,})\b(/[^\s<>\"']*)?", re.IGNORECASE)
"""A scheme-less ``host`` or ``host/path`` (``bit.ly/3xYz``, ``nagrody.xyz``); see
:data:`SPAM_TLDS` for when one counts as a link. A bare ``name.tld`` must be lowercase to count:
"nie doszło.Info od kuriera" is a missing space, not a link."""


class _Pattern:
    __slots__ = ("rest", "tag")

    def __init__(self, tag: str, rest: tuple[tuple[str, bool], ...]) -> None:
        self.tag = tag
        self.rest = rest


class _Phrases:
    """Tagged word phrases found in a list of folded words in one pass.

    Each phrase is indexed by its first word: exactly, or (for a ``prefix*``) by its first three
    letters, so a text costs one or two dict look-ups per word whatever the lists' length."""

    def __init__(self, phrases: Iterable[tuple[str, str]]) -> None:
        self._exact: dict[str, list[_Pattern]] = {}
        self._prefixed: dict[str, list[tuple[str, _Pattern]]] = {}
        for tag, phrase in phrases:
            tokens = _tokens(phrase)
            (first, prefix), rest = tokens[0], tokens[1:]
            if first == "":
                raise ValueError(f"a phrase cannot start with a lone *: {phrase!r}")
            pattern = _Pattern(tag, rest)
            if prefix:
                if len(first) < 3:
                    raise ValueError(f"a prefix needs three letters or more: {phrase!r}")
                self._prefixed.setdefault(first[:3], []).append((first, pattern))
            else:
                self._exact.setdefault(first, []).append(pattern)

    def tags(self, found: Sequence[str]) -> dict[str, int]:
        """How many distinct phrases of each tag occur in ``found`` (folded words)."""
        hits: dict[str, set[int]] = {}
        for index, word in enumerate(found):
            for pattern in self._exact.get(word, ()):
                if _rest_matches(pattern.rest, found, index + 1):
                    hits.setdefault(pattern.tag, set()).add(id(pattern))
            for prefix, pattern in self._prefixed.get(word[:3], ()):
                if word.startswith(prefix) and _rest_matches(pattern.rest, found, index + 1):
                    hits.setdefault(pattern.tag, set()).add(id(pattern))
        return {tag: len(ids) for tag, ids in hits.items()}


def _tokens(phrase: str) -> tuple[tuple[str, bool], ...]:
    """``"kod* rabatow*"`` -> ``(("kod", True), ("rabatow", True))``; ``"*"`` -> ``("", True)``.
    Words are folded and split like texts are, so ``"didn't"`` is ``didn t``."""
    tokens: list[tuple[str, bool]] = []
    for raw in fold(phrase).split():
        star = raw.endswith("*")
        core = words(raw.rstrip("*"))
        if not core:
            if raw.strip("*"):
                raise ValueError(f"no word in {raw!r} of {phrase!r}")
            tokens.append(("", True))
            continue
        tokens.extend((w, False) for w in core[:-1])
        tokens.append((core[-1], star))
    if not tokens:
        raise ValueError(f"empty phrase {phrase!r}")
    return tuple(tokens)


def _rest_matches(rest: tuple[tuple[str, bool], ...], found: Sequence[str], start: int) -> bool:
    if start + len(rest) > len(found):
        return False
    for offset, (token, prefix) in enumerate(rest):
        word = found[start + offset]
        if not (word.startswith(token) if prefix else word == token):
            return False
    return True


def _tld(host: str) -> str:
    return host.rsplit(".", 1)[-1]


def _host(url: str) -> str:
    rest = url.split("://", 1)[1] if "://" in url else url
    host = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].rsplit("@", 1)[-1]
    host = host.split(":", 1)[0].lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


class SpamRules:
    """The word lists and thresholds behind :func:`spam_reason`; ``extra_*`` words are added to
    the module's lists (same syntax: folded words, ``prefix*``, ``*`` for any one word)."""

    def __init__(
        self,
        *,
        extra_giveaway: Iterable[str] = (),
        extra_giveaway_hints: Iterable[str] = (),
        extra_promo: Iterable[str] = (),
        extra_sales_pitch: Iterable[str] = (),
        extra_link_bait: Iterable[str] = (),
        extra_complaint: Iterable[str] = (),
        extra_brand_service: Iterable[str] = (),
        extra_shorteners: Iterable[str] = (),
        max_links: int = 2,
    ) -> None:
        if max_links < 1:
            raise ValueError("max_links must be 1 or more")
        self.max_links = max_links
        """More links than this in one post is link spam (a complaint with two screenshots is
        not)."""
        self.shorteners = SHORTENERS | {_host(h) for h in extra_shorteners}
        lists = {
            "giveaway": (*GIVEAWAY_WORDS, *extra_giveaway),
            "hint": (*GIVEAWAY_HINTS, *extra_giveaway_hints),
            "promo": (*PROMO_WORDS, *extra_promo),
            "pitch": (*SALES_PITCH_WORDS, *extra_sales_pitch),
            "bait": (*LINK_BAIT_WORDS, *extra_link_bait),
            "complaint": (*COMPLAINT_WORDS, *extra_complaint),
            "service": (*BRAND_SERVICE_WORDS, *extra_brand_service),
            "pointer": LINK_MENTIONS,
        }
        self._phrases = _Phrases((tag, p) for tag, phrases in lists.items() for p in phrases)

    def reason(
        self, text: str, *, author: str | None, from_brand: bool, links: int | None = None
    ) -> SpamReason | None:
        """See :func:`spam_reason`."""
        folded = fold(text)
        found = words(folded)
        tags = self._phrases.tags(found)
        if tags.get("complaint") or (from_brand and tags.get("service")):
            return None
        by_author = self._phrases.tags(words(author)) if author else {}
        strong, hints = tags.get("giveaway", 0), tags.get("hint", 0)
        author_cue = any(by_author.get(t) for t in ("giveaway", "hint", "promo", "pitch", "bait"))
        if strong or (hints and hints + author_cue >= 2):
            return "giveaway"
        if from_brand:
            promo = tags.get("promo") or tags.get("pitch") or PROMO_PATTERN.search(folded)
            return "brand_ad" if promo else None
        hosts = [_host(url) for url in _URL.findall(text)]
        for bare in _BARE.finditer(_URL.sub(" ", text)):
            host = bare.group(1).lower()
            if (
                bare.group(2)
                or host in self.shorteners
                or (_tld(host) in SPAM_TLDS and host == bare.group(1))
            ):
                hosts.append(host)
        count = max(links or 0, len(hosts) or (1 if tags.get("pointer") else 0))
        if count == 0:
            return None
        if count > self.max_links or any(h in self.shorteners or _tld(h) in SPAM_TLDS for h in hosts):
            return "link_spam"
        if tags.get("pitch") or tags.get("bait") or tags.get("pointer") or author_cue:
            return "link_spam"
        return None


DEFAULT_RULES: Final = SpamRules()


def spam_reason(
    text: str, *, author: str | None, from_brand: bool, links: int | None = None
) -> SpamReason | None:
    """Why a mention is noise: ``link_spam``, ``giveaway`` or ``brand_ad``; None for an ordinary
    mention (see the module's notes for the rules).

    ``author`` is the author's display name or handle: a name full of promo or giveaway words
    ("Konkursy i Rozdania", "Best Deals") counts as one more cue, never as a reason on its own.
    ``from_brand`` is True for the brand's own posts and replies. ``links`` is how many links the
    platform reports for the post (attachments, link cards); the links found in the text are
    counted too and the larger count is used."""
    return DEFAULT_RULES.reason(text, author=author, from_brand=from_brand, links=links)

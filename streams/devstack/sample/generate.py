"""Builds the bundled sample stream ``mentions.jsonl`` (deterministic; run after editing inputs).

    python -m streams.devstack.sample.generate

Five simulated days of mentions for two shops, Zakupowo (Polish) and Kosárka (Hungarian), in
Polish, Hungarian and English: page posts with comment threads, Messenger conversations, X
posts, forum and review mentions, the brands' own replies, a few posts in languages Flarewatch
does not score, six broken lines for the dead-letter path, and one flare-up: on the afternoon
of day four BLIK payments at Zakupowo fail and complaints pour in.

Texts come from the project's labelled corpus (brand names swapped for the demo brands) and
from ``texts.json`` (incident posts, brand replies and page posts written for the demo).
"""

from __future__ import annotations

import json
import math
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from models.corpus import Example, Split, load_split
from models.labels import Stance
from streams.contracts.records import Author, Channel, Platform, RawMention, Source

HERE = Path(__file__).parent
START = datetime(2026, 11, 16, tzinfo=UTC)
DAYS = 5
INCIDENT_START = START + timedelta(days=3, hours=13)
SEED = 20261116


@dataclass(frozen=True, slots=True)
class BrandSpec:
    display: str
    home: str
    share: dict[str, float]
    per_day: float
    reply_minutes: float


BRANDS = {
    "zakupowo": BrandSpec("Zakupowo", "pl", {"pl": 0.75, "en": 0.25}, per_day=420, reply_minutes=40),
    "kosarka": BrandSpec("Kosárka", "hu", {"hu": 0.75, "en": 0.25}, per_day=320, reply_minutes=150),
}
OTHER_SHOPS = re.compile(
    r"\b(Shoply|VoltMarket|FreshCart|Bellezza|HomeNest|Zakupowo|Kos[aá]rka|Basketly|Trendo|MegaByte|"
    r"GreenBasket|Pawsome|ApteQ|SportZone|Bistro Go|Zapmart|Voltix|FreshCrate|Northwind Home|TelMobi)\b"
)
STANCE_MIX = {
    Stance.POSITIVE: 0.28,
    Stance.NEUTRAL: 0.37,
    Stance.COMPLAINT: 0.25,
    Stance.OTHER_NEGATIVE: 0.10,
}
FIRST_NAMES = {
    "pl": [
        "Anna",
        "Tomek",
        "Kasia",
        "Marek",
        "Ola",
        "Piotr",
        "Magda",
        "Kuba",
        "Ewa",
        "Bartek",
        "Zosia",
        "Michał",
    ],
    "hu": [
        "Anna",
        "Péter",
        "Réka",
        "Bence",
        "Eszter",
        "Gábor",
        "Zsófi",
        "Dávid",
        "Kata",
        "Levente",
        "Nóra",
    ],
    "en": [
        "Emma",
        "James",
        "Olivia",
        "Tom",
        "Sophie",
        "Daniel",
        "Chloe",
        "Sam",
        "Grace",
        "Ben",
        "Lucy",
    ],
}


def diurnal(hour: int) -> float:
    """Relative activity by local hour (CET): quiet nights, a lunchtime bump, busy evenings."""
    return 0.15 + 0.85 * math.exp(-((hour - 20) ** 2) / 18) + 0.45 * math.exp(-((hour - 12) ** 2) / 6)


@dataclass
class Generator:
    rng: random.Random
    texts: dict[str, list[str]]
    pools: dict[tuple[str, Stance], list[Example]]
    records: list[dict[str, Any]] = field(default_factory=list)
    counter: int = 0
    posts: dict[str, list[tuple[datetime, str]]] = field(default_factory=dict)
    authors: dict[str, list[Author]] = field(default_factory=dict)

    def next_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter:06d}"

    def author(self, lang: str) -> Author:
        pool = self.authors.setdefault(lang, [])
        if pool and self.rng.random() < 0.3:
            return self.rng.choice(pool)
        name = f"{self.rng.choice(FIRST_NAMES[lang])} {chr(65 + self.rng.randrange(26))}."
        author = Author(id=self.next_id("u"), name=name, followers=int(self.rng.lognormvariate(4.5, 1.3)))
        pool.append(author)
        return author

    def emit(self, mention: RawMention) -> RawMention:
        self.records.append(json.loads(mention.model_dump_json(exclude_defaults=False)))
        return mention

    def text(self, brand: str, lang: str, stance: Stance) -> str:
        pool = self.pools[(lang, stance)]
        example = pool[self.rng.randrange(len(pool))]
        return OTHER_SHOPS.sub(BRANDS[brand].display, example.text)

    def brand_post(self, brand: str, at: datetime, text: str) -> str:
        native = self.next_id("p")
        self.emit(
            RawMention(
                platform=Platform.FACEBOOK,
                native_id=native,
                brand=brand,
                author=Author(id=brand, name=BRANDS[brand].display, followers=48_000),
                text=text,
                url=f"https://facebook.example/{brand}/posts/{native}",
                created_at=at,
                from_brand=True,
            )
        )
        self.posts.setdefault(brand, []).append((at, native))
        return native

    def latest_post(self, brand: str, at: datetime) -> str | None:
        earlier = [p for t, p in self.posts.get(brand, []) if t <= at]
        return earlier[-1] if earlier else None

    def customer(self, brand: str, at: datetime, lang: str, text: str, stance: Stance) -> None:
        roll = self.rng.random()
        author = self.author(lang)
        native = self.next_id("m")
        post = self.latest_post(brand, at)
        common: dict[str, Any] = {"native_id": native, "brand": brand, "author": author, "created_at": at}
        if roll < 0.45 and post:
            mention = RawMention(
                platform=Platform.FACEBOOK,
                text=text,
                url=f"https://facebook.example/{brand}/posts/{post}?comment={native}",
                parent_id=post,
                thread_id=post,
                **common,
            )
        elif roll < 0.60:
            mention = RawMention(
                platform=Platform.MESSENGER,
                text=text,
                thread_id=f"dm-{brand}-{author.id}",
                channel=Channel.PRIVATE,
                **common,
            )
        elif roll < 0.85:
            addressed = self.rng.random() < 0.6
            handle = f"@{brand} " if addressed and self.rng.random() < 0.5 else ""
            mention = RawMention(
                platform=Platform.X,
                text=handle + text,
                url=f"https://x.example/status/{native}",
                source=Source.ADDRESSED if addressed else Source.SEARCH,
                **common,
            )
        else:
            platform = Platform.FORUM if self.rng.random() < 0.67 else Platform.REVIEW
            mention = RawMention(
                platform=platform,
                text=text,
                url=f"https://{platform.value}.example/t/{native}",
                source=Source.SEARCH,
                **common,
            )
        self.emit(mention)
        self.maybe_reply(mention, lang, stance)

    def maybe_reply(self, mention: RawMention, lang: str, stance: Stance) -> None:
        if mention.source is Source.SEARCH or mention.platform in (Platform.FORUM, Platform.REVIEW):
            return
        chance = {
            Stance.COMPLAINT: 0.7,
            Stance.NEUTRAL: 0.4,
            Stance.POSITIVE: 0.2,
            Stance.OTHER_NEGATIVE: 0.05,
        }
        if self.rng.random() >= chance[stance]:
            return
        brand = mention.brand
        median = BRANDS[brand].reply_minutes * (0.4 if mention.channel is Channel.PRIVATE else 1.0)
        delay = timedelta(minutes=min(self.rng.lognormvariate(math.log(median), 0.8), 36 * 60))
        key = {"pl": "zakupowo_replies_pl", "hu": "kosarka_replies_hu"}.get(lang, "replies_en")
        if brand == "kosarka" and lang == "pl":
            key = "replies_en"
        during = INCIDENT_START <= mention.created_at < INCIDENT_START + timedelta(hours=5)
        about_outage = brand == "zakupowo" and during
        fitting = [t for t in self.texts[key] if ("BLIK" in t) == about_outage] or self.texts[key]
        text = self.rng.choice(fitting)
        self.emit(
            RawMention(
                platform=mention.platform,
                native_id=self.next_id("r"),
                brand=brand,
                author=Author(id=brand, name=BRANDS[brand].display),
                text=text,
                created_at=mention.created_at + delay,
                parent_id=mention.native_id,
                thread_id=mention.thread_id or mention.native_id,
                channel=mention.channel,
                from_brand=True,
            )
        )


def background(g: Generator) -> None:
    for brand, spec in BRANDS.items():
        posts = g.texts[f"{brand}_posts_{spec.home}"]
        for day in range(DAYS):
            for hour in (8, 15):
                g.brand_post(
                    brand,
                    START + timedelta(days=day, hours=hour, minutes=g.rng.randrange(40)),
                    posts[(2 * day + hour // 15) % len(posts)],
                )
        weights = [diurnal((h + 1) % 24) for h in range(24)]
        per_hour = [spec.per_day * w / sum(weights) for w in weights]
        for hour in range(DAYS * 24):
            for _ in range(_poisson(g.rng, per_hour[hour % 24])):
                at = START + timedelta(hours=hour, seconds=g.rng.randrange(3600))
                lang = g.rng.choices(list(spec.share), weights=list(spec.share.values()))[0]
                stance = g.rng.choices(list(STANCE_MIX), weights=list(STANCE_MIX.values()))[0]
                g.customer(brand, at, lang, g.text(brand, lang, stance), stance)


def incident(g: Generator) -> None:
    """BLIK payments fail at Zakupowo for three and a half hours; complaints pile up."""
    announcements = g.texts["zakupowo_outage_announcements_pl"]
    for minutes, text in zip((70, 140, 225, 300), announcements, strict=False):
        g.brand_post("zakupowo", INCIDENT_START + timedelta(minutes=minutes), text)
    texts = [(t, "pl") for t in g.texts["zakupowo_blik_outage_pl"]] + [
        (t, "en") for t in g.texts["zakupowo_blik_outage_en"]
    ]
    g.rng.shuffle(texts)
    for text, lang in texts:
        offset = min(max(g.rng.gauss(95, 45), 0.0), 215.0)
        g.customer("zakupowo", INCIDENT_START + timedelta(minutes=offset), lang, text, Stance.COMPLAINT)


def strays(g: Generator) -> None:
    for i, text in enumerate(g.texts["unsupported_language"]):
        brand = "zakupowo" if i % 2 else "kosarka"
        at = START + timedelta(hours=10 + 13 * i, minutes=g.rng.randrange(60))
        g.emit(
            RawMention(
                platform=Platform.X,
                native_id=g.next_id("m"),
                brand=brand,
                author=Author(id=g.next_id("u")),
                text=text,
                created_at=at,
                source=Source.SEARCH,
            )
        )


def broken() -> Iterator[tuple[datetime, str]]:
    """Six lines the worker must dead-letter, each for a different reason."""
    at = START + timedelta(days=1, hours=11)
    base = {
        "platform": "x",
        "brand": "zakupowo",
        "author": {"id": "u-broken"},
        "text": "ok",
        "created_at": at.isoformat(),
    }
    yield at, '{"platform": "x", "native_id": "broken-1", "text": "cut off in the midd'
    yield at, json.dumps({**base, "native_id": "broken-2", "brand": None})
    yield at, json.dumps({**base, "native_id": "broken-3", "text": "   "})
    yield at, json.dumps({**base, "native_id": "broken-4", "created_at": "2026-11-17 11:00:00"})
    yield at, json.dumps({**base, "native_id": "broken-5", "platform": "myspace"})
    yield at, json.dumps({**base, "native_id": "broken-6", "text": "spam " * 5000})


def _poisson(rng: random.Random, lam: float) -> int:
    threshold, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= threshold:
            return k
        k += 1


def build() -> list[str]:
    examples = load_split(Split.TRAIN) + load_split(Split.TEST)
    pools: dict[tuple[str, Stance], list[Example]] = {}
    for ex in examples:
        pools.setdefault((ex.lang, ex.stance), []).append(ex)
    g = Generator(random.Random(SEED), json.loads((HERE / "texts.json").read_text()), pools)
    background(g)
    incident(g)
    strays(g)
    end = START + timedelta(days=DAYS)
    lines = [
        (datetime.fromisoformat(r["created_at"]), json.dumps(r, ensure_ascii=False))
        for r in g.records
        if datetime.fromisoformat(r["created_at"]) < end
    ]
    lines += list(broken())
    lines.sort(key=lambda pair: pair[0])
    return [line for _, line in lines]


def main() -> None:
    lines = build()
    (HERE / "mentions.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} lines to {HERE / 'mentions.jsonl'}")


if __name__ == "__main__":
    main()

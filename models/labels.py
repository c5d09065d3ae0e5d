"""The label sets every scorer speaks."""

from __future__ import annotations

from enum import StrEnum


class Sentiment(StrEnum):
    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"


UNSCORED = "unscored"


class Category(StrEnum):
    DELIVERY = "delivery"
    RETURNS_REFUNDS = "returns_refunds"
    PAYMENT = "payment"
    PRODUCT_QUALITY = "product_quality"
    CUSTOMER_SERVICE = "customer_service"
    WEBSITE_OUTAGE = "website_outage"
    PRICING_PROMOTION = "pricing_promotion"
    OTHER = "other"


SENTIMENTS: tuple[Sentiment, ...] = tuple(Sentiment)
CATEGORIES: tuple[Category, ...] = tuple(Category)


class Stance(StrEnum):
    """The joint head's classes: a complaint is always negative, so both are predicted at once."""

    COMPLAINT = "complaint"
    OTHER_NEGATIVE = "other_negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"


STANCES: tuple[Stance, ...] = tuple(Stance)


def stance_of(sentiment: Sentiment, complaint: bool) -> Stance:
    if complaint:
        if sentiment is not Sentiment.NEGATIVE:
            raise ValueError("a complaint must be negative")
        return Stance.COMPLAINT
    return {
        Sentiment.NEGATIVE: Stance.OTHER_NEGATIVE,
        Sentiment.NEUTRAL: Stance.NEUTRAL,
        Sentiment.POSITIVE: Stance.POSITIVE,
    }[sentiment]

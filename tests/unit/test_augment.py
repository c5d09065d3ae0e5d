"""Training-time augmentation that takes shortcuts away: brand names swapped, emoji appended."""

from models.augment import NEUTRAL_EMOJI, add_neutral_emoji, brand_names, strip_diacritics, swap_brands
from models.checklist.perturb import UNRELATED_EMOJI

TEXTS = [
    "FreshCart again late",
    "Love FreshCart!",
    "HomeNest sofa broke, HomeNesttol semmi válasz",
    "HomeNest support was great",
    "paid with PayPal, PayPalem też",
    "PayPal twice",
    "OnceOnly brand",
]


def test_brand_names_are_camel_case_words_seen_twice_without_real_platforms() -> None:
    assert brand_names(TEXTS) == ("FreshCart", "HomeNest")


def test_swap_keeps_endings_and_is_stable() -> None:
    names = ("FreshCart", "HomeNest", "QuickPost")
    out = swap_brands("HomeNest sofa broke, HomeNesttol semmi válasz", names, "k1")
    assert "HomeNest" not in out and out.endswith("tol semmi válasz")
    assert out == swap_brands("HomeNest sofa broke, HomeNesttol semmi válasz", names, "k1")
    assert swap_brands("no brand here", names, "k") == "no brand here"
    assert swap_brands("@FreshCart_pl and freshcart.com", names, "k") == "@FreshCart_pl and freshcart.com"


def test_training_emoji_are_not_the_suites() -> None:
    assert not set(NEUTRAL_EMOJI) & set(UNRELATED_EMOJI)
    assert add_neutral_emoji("ok ", "a")[:3] == "ok " and add_neutral_emoji("ok", "a")[-1] != "k"
    assert strip_diacritics("łódź") == "lodz"

"""Which language a mention is in, and whether Flarewatch can score it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from models.text_rules import has_letters, has_pictographs, is_blank, words_only

SUPPORTED_LANGUAGES: tuple[str, ...] = ("pl", "hu", "en")
DEFAULT_CANDIDATES: tuple[str, ...] = (
    "en",
    "pl",
    "hu",
    "de",
    "fr",
    "es",
    "it",
    "pt",
    "nl",
    "cs",
    "sk",
    "ro",
    "ru",
    "uk",
)
_HINT = re.compile(r"^([a-z]{2})(?:[-_][a-z0-9]+)*$")


@dataclass(frozen=True, slots=True)
class LanguageDecision:
    """``lang`` is an ISO 639-1 code, or None for text without words (emoji only).

    ``reason`` is set exactly when the text must come back unscored.
    """

    lang: str | None
    reason: str | None = None

    @property
    def scorable(self) -> bool:
        return self.reason is None


@dataclass(frozen=True, slots=True)
class DetectionOptions:
    supported: tuple[str, ...] = SUPPORTED_LANGUAGES
    candidates: tuple[str, ...] = DEFAULT_CANDIDATES
    """Languages the detector chooses among; more costs memory (~30 MB each in high accuracy)."""
    high_accuracy: bool = True
    mixed_threshold: float = 0.25
    """A supported language this confident wins over an unsupported top guess (mixed text)."""


class LanguageDetector:
    """Decides the language of a text from an optional hint and the Lingua detector.

    Lingua's models ship inside its wheel: nothing is downloaded. The first detection loads
    the candidate models (seconds, hundreds of MB); call :meth:`warm_up` at start-up to pay
    that cost early. ``decide`` is CPU-bound and thread-safe.
    """

    def __init__(self, options: DetectionOptions = DetectionOptions()) -> None:
        from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

        unknown = [c for c in options.candidates if not hasattr(IsoCode639_1, c.upper())]
        if unknown:
            raise ValueError(f"unknown candidate language codes: {', '.join(unknown)}")
        missing = set(options.supported) - set(options.candidates)
        if missing:
            raise ValueError(f"supported languages missing from candidates: {sorted(missing)}")
        languages = [
            Language.from_iso_code_639_1(getattr(IsoCode639_1, c.upper())) for c in options.candidates
        ]
        builder = LanguageDetectorBuilder.from_languages(*languages)
        if not options.high_accuracy:
            builder = builder.with_low_accuracy_mode()
        self._detector = builder.build()
        self.options = options

    def warm_up(self) -> None:
        self._detector.compute_language_confidence_values("warm up the language models")

    def decide(self, text: str, hint: str | None = None) -> LanguageDecision:
        return self.precheck(text, hint) or self.detect(text)

    def precheck(self, text: str, hint: str | None = None) -> LanguageDecision | None:
        """The cheap part of :meth:`decide`: empty texts, hints, texts without words. None
        means the detector must look at the text (:meth:`detect`)."""
        if is_blank(text):
            return LanguageDecision(None, "empty text")
        if hint is not None and hint.strip():
            return self._from_hint(hint)
        if not has_letters(words_only(text)):
            if has_pictographs(text):
                return LanguageDecision(None)
            return LanguageDecision(None, "no words or emoji to score")
        return None

    def detect(self, text: str) -> LanguageDecision:
        """The statistical detector on a text that :meth:`precheck` passed on."""
        return self._detect(words_only(text))

    def decide_many(self, items: Iterable[tuple[str, str | None]]) -> list[LanguageDecision]:
        return [self.decide(text, hint) for text, hint in items]

    def _from_hint(self, hint: str) -> LanguageDecision:
        match = _HINT.match(hint.strip().lower())
        if not match:
            return LanguageDecision(None, f"invalid language hint {hint!r}")
        code = match.group(1)
        if code not in self.options.supported:
            return LanguageDecision(code, f"unsupported language '{code}'")
        return LanguageDecision(code)

    def _detect(self, words: str) -> LanguageDecision:
        values = self._detector.compute_language_confidence_values(words)
        ranked = [(v.language.iso_code_639_1.name.lower(), float(v.value)) for v in values]
        if not ranked or ranked[0][1] <= 0.0:
            return LanguageDecision(None, "language could not be detected")
        top, _ = ranked[0]
        if top in self.options.supported:
            return LanguageDecision(top)
        best = max((r for r in ranked if r[0] in self.options.supported), key=lambda r: r[1], default=None)
        if best is not None and best[1] >= self.options.mixed_threshold:
            return LanguageDecision(best[0])
        return LanguageDecision(top, f"unsupported language '{top}'")

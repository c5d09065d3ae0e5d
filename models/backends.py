"""Scoring backends: what turns texts into predictions. The default is e5 + our heads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from models.encoder import Encoder
from models.heads import Heads, Prediction


class Backend(Protocol):
    """Scores texts whose language is already known to be supported.

    ``predict`` is CPU-bound and may block for seconds; it returns one prediction per text,
    in order, and raises only on programming errors (bad input is filtered out earlier).
    """

    @property
    def model_id(self) -> str: ...

    def predict(self, texts: Sequence[str]) -> list[Prediction]: ...


class E5Backend:
    """The default: the adapted multilingual-e5-small encoder and Flarewatch's trained heads."""

    def __init__(self, encoder: Encoder, heads: Heads, model_id: str) -> None:
        if encoder.dim != heads.feature_dim:
            raise ValueError(f"encoder gives {encoder.dim} features, heads expect {heads.feature_dim}")
        self.encoder = encoder
        self.heads = heads
        self._model_id = model_id

    @property
    def model_id(self) -> str:
        return self._model_id

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        if not texts:
            return []
        return self.heads.predict(self.encoder.features(texts))

from __future__ import annotations

import pytest

from models.loading import ScorerConfig, shared_scorer
from models.scorer import Scorer
from streams.config.settings import default_cache_dir


@pytest.fixture(scope="session")
def scorer_config() -> ScorerConfig:
    return ScorerConfig(cache_dir=default_cache_dir())


@pytest.fixture(scope="session")
def scorer(scorer_config: ScorerConfig) -> Scorer:
    """The real default scorer (builds the encoder caches on first use)."""
    return shared_scorer(scorer_config)

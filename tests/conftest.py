from __future__ import annotations

import dataclasses
import sys

import pytest
from hypothesis import settings as hypothesis_settings

from models.loading import ScorerConfig, shared_scorer
from models.quantization import Quantization
from models.runtime import Runtime
from models.scorer import Scorer
from streams.config.scoring import default_cache_dir

hypothesis_settings.register_profile(
    "flarewatch", derandomize=True, database=None, deadline=None, print_blob=True
)
hypothesis_settings.load_profile("flarewatch")
"""Property tests are reproducible (the same cases on every run and in CI) and not timed."""


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """How many generated cases the property tests ran (tests/strategies.py counts them)."""
    strategies = sys.modules.get("tests.strategies")
    if strategies is not None and strategies.CASES:
        terminalreporter.write_line(
            f"property tests: {sum(strategies.CASES.values())} generated cases "
            f"in {len(strategies.CASES)} of {len(strategies.PROPERTIES)} properties"
        )


@pytest.fixture(scope="session")
def scorer_config() -> ScorerConfig:
    return ScorerConfig(cache_dir=default_cache_dir())


@pytest.fixture(scope="session")
def scorer(scorer_config: ScorerConfig) -> Scorer:
    """The real default scorer (builds the encoder caches on first use)."""
    return shared_scorer(scorer_config)


@pytest.fixture(scope="session")
def fp32_scorer(scorer_config: ScorerConfig) -> Scorer:
    """The same model in plain fp32 PyTorch: the reference the fast path is checked against."""
    return shared_scorer(
        dataclasses.replace(scorer_config, runtime=Runtime.TORCH, quantization=Quantization.NONE)
    )

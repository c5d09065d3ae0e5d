"""The default run of the property tests generates at least ``MIN_CASES`` cases. Runs after them
(pytest runs test files in name order); skips when only some of them ran."""

from __future__ import annotations

import pytest

from tests.strategies import CASES, MIN_CASES, PROPERTIES
from tests.unit import test_properties_codec, test_properties_steps  # noqa: F401 (registers them all)


def test_the_property_tests_ran_at_least_10000_generated_cases() -> None:
    if set(CASES) != PROPERTIES:
        pytest.skip(f"only {len(CASES)} of {len(PROPERTIES)} property tests ran in this session")
    assert sum(CASES.values()) >= MIN_CASES, dict(CASES)

"""Business hours and response targets in the YAML: defaults, a brand's own, and clear errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from streams.config.settings import SettingsError, load_settings


def test_defaults_follow_the_practice() -> None:
    policy = load_settings(None).sla_policy()
    targets = {t.name: t for t in policy.targets_for("any")}
    assert targets["public_complaint"].seconds == 2 * 3600 and targets["public_complaint"].complaints_only
    assert targets["private_same_day"].until_close and targets["private_same_day"].applies_to == "private"
    assert targets["messenger_reply_window"].seconds == 24 * 3600
    assert policy.stale_after is not None and policy.stale_after.total_seconds() == 72 * 3600


def test_a_brand_has_its_own_hours_holidays_and_targets() -> None:
    settings = load_settings(
        None,
        brands=[
            {
                "name": "zakupowo",
                "terms": ["zakupowo"],
                "service": {
                    "business_hours": {
                        "timezone": "Europe/Warsaw",
                        "hours": {"mon-fri": ["09:00-12:00", "12:30-17:00"]},
                        "country": "PL",
                    },
                    "targets": [{"name": "answer", "hours": 4, "business_hours": True}],
                },
            },
            {"name": "kosarka", "terms": ["kosarka"]},
        ],
    )
    policy = settings.sla_policy()
    warsaw = policy.calendar("zakupowo")
    assert not warsaw.is_open(datetime(2026, 11, 11, 10, tzinfo=UTC))  # Independence Day
    assert not warsaw.is_open(datetime(2026, 11, 12, 11, 15, tzinfo=UTC))  # lunch, 12:15 local
    assert warsaw.is_open(datetime(2026, 11, 12, 10, tzinfo=UTC))
    assert [t.name for t in policy.targets_for("zakupowo")] == ["answer"]
    assert policy.calendar("kosarka").is_open(datetime(2026, 11, 11, 3, tzinfo=UTC))  # 24/7 default
    assert "public_complaint" in {t.name for t in policy.targets_for("kosarka")}


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"business_hours": {"timezone": "Europe/Atlantis"}}, "Europe/Atlantis"),
        ({"business_hours": {"hours": {"mon-fri": ["17:00-09:00"]}}}, "17:00-09:00"),
        ({"business_hours": {"country": "XX"}}, "XX"),
        ({"targets": [{"name": "late", "hours": 0}]}, "late"),
        ({"targets": [{"name": "w", "hours": 1, "kind": "reply_window", "business_hours": True}]}, "wall"),
    ],
)
def test_bad_service_settings_say_what_is_wrong(section: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(None, brands=[{"name": "b", "terms": ["b"], "service": section}])

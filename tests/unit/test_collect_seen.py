"""What a collector process published lately: known by id and text, forgotten after the window,
kept across a restart."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from streams.collectors.seen import SeenIds
from tests.factories import T0, mention


def test_known_by_id_and_text_forgotten_after_the_window_and_kept_across_a_restart(tmp_path: Path) -> None:
    seen = SeenIds(timedelta(hours=1), tmp_path / "seen.json")
    first = mention(1, text="gdzie moja paczka?")
    seen.add([first], now=T0)
    assert seen.knows(first)
    assert not seen.knows(mention(1, text="gdzie moja paczka? już tydzień"))  # an edit goes out
    assert not seen.knows(mention(2, text="gdzie moja paczka?"))
    seen.save(force=True)
    again = SeenIds(timedelta(hours=1), tmp_path / "seen.json")
    assert again.knows(first)
    again.add([mention(n) for n in range(100, 1200)], now=T0 + timedelta(hours=2))
    assert not again.knows(first) and len(again) == 1100
    (tmp_path / "seen.json").write_text("{broken")
    assert len(SeenIds(timedelta(hours=1), tmp_path / "seen.json")) == 0

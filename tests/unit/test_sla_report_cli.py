"""How ``flarewatch sla report`` prints durations and rows."""

from __future__ import annotations

from models.threads.metrics import ReportRow
from streams.cli.sla import duration, render


def test_durations_read_at_a_glance() -> None:
    assert [duration(s) for s in (None, 90, 3599, 5400, 47 * 3600, 3 * 86400 + 7200)] == [
        "-",
        "1m30s",
        "59m59s",
        "1h30m",
        "47h00m",
        "3d02h",
    ]


def test_rows_show_their_group_and_figures() -> None:
    row = ReportRow(
        ("brand", "channel"),
        "zakupowo",
        "public",
        None,
        2,
        7,
        3 / 7,
        0.5,
        7200,
        7200,
        19800,
        19800,
        0.0,
        None,
        None,
    )
    lines = render([row], "business hours").splitlines()
    assert lines[0] == "response times in business hours"
    assert lines[2].startswith("zakupowo / public")
    assert lines[2].split()[3:] == [
        "2",
        "7",
        "43%",
        "50%",
        "2h00m",
        "2h00m",
        "5h30m",
        "5h30m",
        "0%",
        "-",
        "0",
        "0",
    ]
    assert render([], "wall clock") == "no threads in the period"

"""Noise in the collectors: spam and copies flagged or dropped as configured, remembered across
restarts, and left out of the detector's counts."""

from __future__ import annotations

from pathlib import Path

from streams.collectors.checkpoints import CheckpointStore
from streams.collectors.filters import MentionFilter
from streams.collectors.noise import NoiseScreen
from streams.collectors.runner import Collector
from streams.config.brands import BrandSettings
from streams.config.collectors import NoiseSettings
from streams.contracts.codec import encode
from streams.worker.steps.detect import detector_key
from tests.factories import mention, scored
from tests.unit.test_collect_runner import Broker, Pages

COMPLAINTS = [
    "Zamówienie od zakupowo nie dotarło od dwóch tygodni, infolinia nie odbiera telefonu",
    "Płatność BLIK w zakupowo odrzucona trzy razy, a pieniądze zniknęły z konta",
    "Kurier zostawił paczkę pod drzwiami sąsiada, zakupowo nie chce przyjąć reklamacji",
    "A zakupowo alkalmazása folyton kilép, nem tudok fizetni a kosárban",
    "Zwrot za uszkodzony telewizor czekam już miesiąc, zakupowo milczy",
]
CAMPAIGN = "Bojkotujcie zakupowo! Oszukali mnie na 500 zł i nie oddają pieniędzy, udostępnij dalej"


def test_spam_is_flagged_or_dropped_as_configured() -> None:
    giveaway = mention(1, text="GIVEAWAY! Wygraj bon 500 zł, oznacz znajomego i udostępnij")
    complaint = mention(2, text="Kod rabatowy nie zadziałał, a zakupowo nie odpisuje")
    flagging = NoiseScreen(NoiseSettings(spam="flag", duplicates="keep"))
    flagged, reason = flagging(giveaway)
    assert reason is None and flagged is not None and flagged.noise == ("spam:giveaway",)
    assert flagging(complaint) == (complaint, None)
    dropping = NoiseScreen(NoiseSettings(spam="drop", duplicates="keep"))
    assert dropping(giveaway) == (None, "spam:giveaway")
    assert NoiseScreen(NoiseSettings(spam="keep", duplicates="keep"))(giveaway) == (giveaway, None)


def test_a_copy_paste_campaign_is_one_complaint_with_its_copies(tmp_path: Path) -> None:
    screen = NoiseScreen(NoiseSettings(), tmp_path / "noise.json")
    copies = [mention(n, text=CAMPAIGN + ("!" * (n % 3)), minutes=n) for n in range(1, 501)]
    out = [screen(m)[0] for m in copies]
    assert all(m is not None for m in out)
    assert out[0] is not None and out[0].duplicate_of is None
    assert {m.duplicate_of for m in out[1:] if m is not None} == {"facebook:c1"}
    last = out[-1]
    assert last is not None and last.copies is not None and last.copies >= 499
    different = [screen(mention(1000 + n, text=text))[0] for n, text in enumerate(COMPLAINTS)]
    assert all(m is not None and m.duplicate_of is None for m in different)
    screen.save()
    again = NoiseScreen(NoiseSettings(), tmp_path / "noise.json")  # after a restart
    later = again(mention(2000, text=CAMPAIGN, minutes=600))[0]
    assert later is not None and later.duplicate_of == "facebook:c1"


def test_copies_and_flags_stay_out_of_the_detector_counts() -> None:
    original = mention(1, text=CAMPAIGN)
    copy = mention(2, text=CAMPAIGN, duplicate_of="facebook:c1", copies=2)
    spam = mention(3, text="x", noise=("spam:giveaway",))
    assert detector_key(encode(scored(original))) == b"zakupowo"
    assert detector_key(encode(scored(copy))) is None
    assert detector_key(encode(scored(spam))) is None


def test_the_runner_counts_dropped_copies_and_flagged_ones(tmp_path: Path) -> None:
    brands = [BrandSettings(name="zakupowo", terms=("zakupowo",))]
    page = [mention(n, text=CAMPAIGN) for n in range(1, 4)]
    broker = Broker()
    dropping = Collector(
        broker,
        CheckpointStore(tmp_path),
        MentionFilter(brands),
        screen=NoiseScreen(NoiseSettings(duplicates="drop"), tmp_path / "noise.json"),
    )
    report = dropping.poll(Pages([page]))
    assert [m.native_id for m in broker.sent] == ["c1"] and report.filtered["duplicate"] == 2
    assert (
        dropping.metrics.registry.get_sample_value(
            "flarewatch_collector_duplicates_total", {"source": "fake-zakupowo"}
        )
        == 2
    )
    assert (tmp_path / "noise.json").exists()

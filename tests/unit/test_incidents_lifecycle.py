"""The incident lifecycle: signals and acknowledgements in, versions out (lists in, lists out)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from models.incidents import Book, Change, LifecycleConfig, Severity, Signal, SignalKind, Silence

T0 = datetime(2026, 11, 19, 13, 0, tzinfo=UTC)
BRAND = "zakupowo"


def sig(
    kind: SignalKind,
    minute: int,
    *,
    category: str | None = None,
    severity: Severity = "warning",
    observed: float = 20.0,
    expected: float = 4.0,
    started: int | None = None,
    samples: tuple[str, ...] = (),
    languages: dict[str, int] | None = None,
    categories: dict[str, int] | None = None,
) -> Signal:
    at = T0 + timedelta(minutes=minute)
    return Signal(
        signal_id=f"{BRAND}:{category or 'all'}:complaints:{at:%Y%m%dT%H%MZ}:{kind}",
        brand=BRAND,
        category=category,
        kind=kind,
        bucket_start=at,
        flare_started_at=T0 + timedelta(minutes=minute if started is None else started),
        bucket_seconds=300,
        severity=None if kind == "ended" else severity,
        observed=observed,
        mentions=int(observed),
        expected=expected,
        score=6.0,
        peak=observed,
        languages={"pl": int(observed)} if languages is None else languages,
        categories=_spread(category, observed) if categories is None else categories,
        sample_mention_ids=samples,
    )


def _spread(category: str | None, observed: float) -> dict[str, int]:
    """A category series counts its category; a brand-wide one, by default, four categories none
    of which explains the flare on its own."""
    if category is not None:
        return {category: int(observed)}
    quarter = int(observed) // 4
    return {"payment": quarter, "delivery": quarter, "app": quarter, "other": int(observed) - 3 * quarter}


def run(book: Book, signals: list[Signal]) -> list[Change]:
    return [change for s in signals for change in book.apply(s)]


def states(changes: list[Change]) -> list[tuple[str, int, str, bool]]:
    return [(c.incident.incident_id, c.incident.version, c.incident.state, c.page) for c in changes]


ALL = "zakupowo:all:20261119T1300Z"
PAYMENT = "zakupowo:payment:20261119T1300Z"


# --- transitions -------------------------------------------------------------------------------


def test_started_triggers_a_new_incident() -> None:
    [change] = Book().apply(sig("started", 0, observed=20, expected=4, samples=("m1", "m2")))
    view = change.incident
    assert change.page
    assert (view.incident_id, view.version, view.state, view.severity) == (ALL, 1, "triggered", "warning")
    assert (view.started_at, view.updated_at, view.bucket_seconds) == (T0, T0, 300)
    assert (view.observed, view.expected, view.peak, view.peak_at, view.total) == (20, 4, 20, T0, 20)
    assert view.categories == {"payment": 5, "delivery": 5, "app": 5, "other": 5}
    assert view.languages == {"pl": 20}
    assert view.sample_mention_ids == ("m1", "m2")
    assert view.open and view.resolved_at is None and view.inhibited_by is None
    assert [(h.version, h.state, h.severity, h.at) for h in view.history] == [(1, "triggered", "warning", T0)]


def test_escalation_is_an_update_that_pages() -> None:
    book = Book()
    changes = run(book, [sig("started", 0), sig("escalated", 5, severity="critical", observed=30)])
    assert states(changes) == [(ALL, 1, "triggered", True), (ALL, 2, "updated", True)]
    view = changes[-1].incident
    assert view.severity == "critical" and view.updated_at == T0 + timedelta(minutes=5)
    assert [h.severity for h in view.history] == ["warning", "critical"]
    assert "escalated to critical" in view.history[-1].note


def test_growth_below_the_factor_refreshes_counts_without_a_version() -> None:
    book = Book()
    run(book, [sig("started", 0, observed=20)])
    assert book.apply(sig("grown", 5, observed=30)) == []
    assert book.apply(sig("grown", 10, observed=39)) == []
    view = book.get(ALL)
    assert view is not None and view.version == 1
    assert (view.observed, view.peak, view.total) == (39, 39, 89)
    [change] = book.apply(sig("grown", 15, observed=40))
    assert states([change]) == [(ALL, 2, "updated", True)]
    assert change.incident.total == 129 and "2.0x" in change.incident.history[-1].note
    assert book.apply(sig("grown", 20, observed=79)) == []  # the reference is now 40


def test_refreshed_counts_reach_the_next_version() -> None:
    book = Book()
    run(book, [sig("started", 0, observed=20), sig("grown", 5, observed=30, languages={"en": 7})])
    [change] = book.apply(sig("ended", 30, observed=3, expected=4))
    view = change.incident
    assert (view.state, view.version, view.total, view.peak, view.observed) == ("resolved", 2, 50, 30, 3)
    assert view.languages == {"en": 7, "pl": 20}
    assert view.peak_at == T0 + timedelta(minutes=5)


def test_ended_resolves() -> None:
    book = Book()
    changes = run(book, [sig("started", 0), sig("ended", 40)])
    assert states(changes) == [(ALL, 1, "triggered", True), (ALL, 2, "resolved", True)]
    view = changes[-1].incident
    assert not view.open and view.resolved_at == T0 + timedelta(minutes=40)
    assert book.apply(sig("ended", 45)) == []


def test_acknowledge_keeps_it_open_and_the_resolve_still_comes() -> None:
    book = Book()
    run(book, [sig("started", 0)])
    at = T0 + timedelta(minutes=7)
    [ack] = book.acknowledge(ALL, "ola", at)
    assert states([ack]) == [(ALL, 2, "acknowledged", True)]
    assert (ack.incident.acknowledged_by, ack.incident.acknowledged_at, ack.incident.open) == (
        "ola",
        at,
        True,
    )
    assert book.acknowledge(ALL, "ola", at) == []  # duplicated command
    assert book.acknowledge(ALL, "piotr", at + timedelta(minutes=1)) == []  # already acknowledged
    [resolved] = book.apply(sig("ended", 30))
    assert states([resolved]) == [(ALL, 3, "resolved", True)]
    assert resolved.incident.acknowledged_by == "ola"
    assert book.acknowledge(ALL, "ola", T0 + timedelta(minutes=31)) == []  # resolved
    assert book.acknowledge("zakupowo:all:nope", "ola", at) == []


def test_after_acknowledge_growth_is_recorded_quietly_and_escalation_pages() -> None:
    book = Book()
    run(book, [sig("started", 0, observed=20)])
    book.acknowledge(ALL, "ola", T0 + timedelta(minutes=2))
    grown = book.apply(sig("grown", 5, observed=45))
    assert states(grown) == [(ALL, 3, "updated", False)]
    escalated = book.apply(sig("escalated", 10, severity="critical", observed=50))
    assert states(escalated) == [(ALL, 4, "updated", True)]
    assert escalated[0].incident.acknowledged_by == "ola"
    assert states(book.apply(sig("grown", 15, observed=100))) == [(ALL, 5, "updated", True)]
    assert states(book.acknowledge(ALL, "ola", T0 + timedelta(minutes=16))) == [
        (ALL, 6, "acknowledged", True)
    ]


def test_reopen_within_the_window_is_the_same_incident() -> None:
    book = Book(LifecycleConfig(reopen_within=timedelta(hours=1)))
    changes = run(book, [sig("started", 0), sig("ended", 30), sig("started", 80, severity="watch")])
    assert states(changes) == [
        (ALL, 1, "triggered", True),
        (ALL, 2, "resolved", True),
        (ALL, 3, "triggered", True),
    ]
    view = changes[-1].incident
    assert view.open and view.resolved_at is None and view.severity == "watch" and view.started_at == T0
    assert "reopened" in view.history[-1].note


def test_a_flare_after_the_window_opens_a_new_incident() -> None:
    book = Book(LifecycleConfig(reopen_within=timedelta(hours=1)))
    changes = run(book, [sig("started", 0), sig("ended", 30), sig("started", 91)])
    assert [c.incident.incident_id for c in changes] == [ALL, ALL, "zakupowo:all:20261119T1431Z"]
    assert [v.incident_id for v in book.incidents] == ["zakupowo:all:20261119T1431Z"]  # the old one pruned


def test_flapping_is_one_incident() -> None:
    book = Book()
    signals = [
        sig(kind, 10 * i + (5 if kind == "ended" else 0)) for i in range(6) for kind in ("started", "ended")
    ]
    changes = run(book, signals)
    assert {c.incident.incident_id for c in changes} == {ALL}
    assert [c.incident.version for c in changes] == list(range(1, 13))
    assert [c.incident.state for c in changes[:4]] == ["triggered", "resolved", "triggered", "resolved"]
    assert len(book.incidents) == 1


def test_a_lost_start_opens_on_the_next_signal() -> None:
    [change] = Book().apply(sig("grown", 5, observed=30, started=0))
    assert states([change]) == [(ALL, 1, "triggered", True)]


def test_signals_of_another_brand_are_refused() -> None:
    book = Book()
    book.apply(sig("started", 0))
    other = Signal("x", "kosarka", None, "started", T0, T0, 300, "watch", 9, 9, 1)
    with pytest.raises(ValueError, match="kosarka"):
        book.apply(other)


# --- idempotency ---------------------------------------------------------------------------------


def test_redelivered_signals_change_nothing() -> None:
    book = Book()
    signals = [
        sig("started", 0),
        sig("escalated", 5, severity="critical"),
        sig("grown", 10, observed=80),
        sig("ended", 40),
    ]
    assert len(run(book, signals)) == 4
    before = book.to_json()
    assert run(book, signals) == []
    assert run(book, signals[1:3]) == []
    assert book.to_json() == before


def test_an_older_bucket_of_the_same_series_is_ignored() -> None:
    book = Book()
    run(book, [sig("started", 0), sig("grown", 10, observed=25)])
    assert book.apply(sig("escalated", 5, severity="critical")) == []


# --- silences ------------------------------------------------------------------------------------


def test_a_silence_mutes_pages_but_records_versions() -> None:
    until = T0 + timedelta(minutes=30)
    book = Book(silences=[Silence(BRAND, None, until)])
    changes = run(
        book,
        [
            sig("started", 0),
            sig("escalated", 10, severity="critical"),
            sig("escalated", 30, severity="critical"),
        ],
    )
    assert states(changes) == [(ALL, 1, "triggered", False), (ALL, 2, "updated", False)]
    assert changes[0].incident.silenced_until == until
    [late] = book.apply(sig("ended", 35))
    assert late.page and late.incident.silenced_until is None


def test_a_category_silence_covers_only_that_category() -> None:
    until = T0 + timedelta(hours=2)
    book = Book(silences=[Silence(BRAND, "delivery", until), Silence("kosarka", None, until)])
    [payment] = book.apply(sig("started", 0, category="payment"))
    [delivery] = book.apply(sig("started", 0, category="delivery"))
    assert payment.page and payment.incident.silenced_until is None
    assert not delivery.page and delivery.incident.silenced_until == until


# --- inhibition and folding ----------------------------------------------------------------------


def test_a_category_flare_folds_into_the_open_brand_wide_incident() -> None:
    book = Book()
    changes = run(
        book,
        [
            sig("started", 0, observed=40, expected=8),
            sig("started", 5, category="payment", observed=30, expected=1),
            sig("escalated", 10, category="payment", severity="critical", observed=45),
            sig("ended", 60, observed=5),
            sig("ended", 70, category="payment"),
        ],
    )
    assert states(changes) == [
        (ALL, 1, "triggered", True),
        (ALL, 2, "updated", False),
        (ALL, 3, "updated", True),
        (ALL, 4, "resolved", True),
    ]
    view = changes[-1].incident
    assert view.category is None and view.categories == {
        "payment": 75,
        "delivery": 10,
        "app": 10,
        "other": 10,
    }
    assert view.severity == "critical" and (view.observed, view.peak) == (
        5,
        40,
    )  # counts follow the brand-wide series
    assert view.resolved_at == T0 + timedelta(minutes=70)


def test_a_brand_wide_flare_that_one_category_explains_opens_that_category_incident() -> None:
    book = Book()
    opened = book.apply(sig("started", 0, observed=40, expected=8, categories={"payment": 30, "app": 10}))
    assert states(opened) == [(PAYMENT, 1, "triggered", True)]
    joined = book.apply(sig("started", 5, category="payment", observed=30, expected=1))
    assert states(joined) == [(PAYMENT, 2, "updated", False)]


def test_a_brand_wide_flare_folds_into_the_category_incident_that_explains_it() -> None:
    book = Book()
    changes = run(
        book,
        [
            sig("started", 0, category="payment", observed=30, expected=2),
            sig("started", 5, observed=60, expected=10),  # excess 50, payment's 28 >= 25
            sig("ended", 60, category="payment"),
            sig("ended", 65),
        ],
    )
    assert states(changes) == [
        (PAYMENT, 1, "triggered", True),
        (PAYMENT, 2, "updated", False),
        (PAYMENT, 3, "resolved", True),
    ]
    assert "brand-wide" in changes[1].incident.history[-1].note


def test_a_brand_wide_flare_beyond_the_category_opens_and_inhibits_it() -> None:
    book = Book()
    opened = run(
        book,
        [
            sig("started", 0, category="payment", observed=12, expected=2),
            sig(
                "started", 5, observed=90, expected=10, categories={"payment": 14, "delivery": 30, "app": 30}
            ),
        ],
    )
    wide = "zakupowo:all:20261119T1305Z"
    assert states(opened) == [
        (PAYMENT, 1, "triggered", True),
        (wide, 1, "triggered", True),
        (PAYMENT, 2, "updated", False),
    ]
    assert opened[-1].incident.inhibited_by == wide
    muted = book.apply(sig("escalated", 10, category="payment", severity="critical"))
    assert states(muted) == [(PAYMENT, 3, "updated", False)]
    # a new category flare while the brand-wide incident is open folds into it
    assert states(book.apply(sig("started", 12, category="delivery"))) == [(wide, 2, "updated", False)]
    run(book, [sig("ended", 30, category="delivery"), sig("ended", 30)])
    [after] = book.apply(sig("ended", 40, category="payment"))
    assert after.page and after.incident.inhibited_by is None and after.incident.state == "resolved"


@pytest.mark.parametrize(
    "order", ["brand-first", "category-first", "same-bucket-category-first", "brand-only", "category-only"]
)
def test_the_blik_outage_is_one_incident_whichever_series_crosses_first(order: str) -> None:
    wide = [
        sig("started", 10, observed=25, expected=6, started=10, categories={"payment": 21, "app": 2}),
        sig("escalated", 20, observed=60, expected=6, severity="critical", started=10),
        sig("grown", 30, observed=140, expected=6, severity="critical", started=10),
        sig("ended", 120, expected=6, observed=5, started=10),
    ]
    payment = [
        sig("started", 15, category="payment", observed=20, expected=0.5, started=15),
        sig("escalated", 20, category="payment", observed=55, expected=0.5, severity="critical", started=15),
        sig("grown", 30, category="payment", observed=130, expected=0.5, severity="critical", started=15),
        sig("ended", 125, category="payment", observed=1, expected=0.5, started=15),
    ]
    if order == "category-first":
        payment = [sig("started", 5, category="payment", observed=9, expected=0.5, started=5), *payment[1:]]
    if order == "same-bucket-category-first":
        payment = [
            sig("started", 10, category="payment", observed=20, expected=0.5, started=10),
            *payment[1:],
        ]
    streams = {"brand-only": wide, "category-only": payment}.get(order, wide + payment)
    ordered = sorted(
        streams, key=lambda s: (s.bucket_start, order.endswith("category-first") != (s.category is None))
    )
    book = Book()
    changes = run(book, ordered)
    assert len({c.incident.incident_id for c in changes}) == 1
    assert {c.incident.category for c in changes} == {"payment"}  # the problem, whichever came first
    assert next(c.incident.state for c in changes if c.page) == "triggered"
    assert sum(c.incident.state == "triggered" for c in changes) == 1
    assert sum(c.incident.state == "resolved" for c in changes) == 1
    assert changes[-1].incident.severity == "critical"


# --- state -------------------------------------------------------------------------------------


def test_the_book_survives_a_json_round_trip() -> None:
    signals = [
        sig("started", 0, category="payment", observed=12, expected=2, samples=("a", "b")),
        sig("started", 5, observed=90, expected=10, categories={"payment": 14, "delivery": 60}),
        sig("grown", 10, observed=120),
        sig("escalated", 15, category="payment", severity="critical"),
        sig("ended", 30),
        sig("ended", 35, category="payment"),
        sig("started", 60, category="payment"),
        sig("grown", 65, category="payment", observed=50),
    ]
    config = LifecycleConfig(reopen_within=timedelta(minutes=45))
    silences = [Silence(BRAND, "payment", T0 + timedelta(minutes=12))]
    straight = Book(config, silences)
    expected = run(straight, signals) + straight.acknowledge(PAYMENT, "ola", T0 + timedelta(minutes=66))
    resumed: list[Change] = []
    state = None
    for s in signals:
        book = Book(
            config,
            silences,
            json.loads(json.dumps(Book(config, silences, state).to_json())) if state else None,
        )
        resumed += book.apply(s)
        state = book.to_json()
    book = Book(config, silences, json.loads(json.dumps(state)))
    resumed += book.acknowledge(PAYMENT, "ola", T0 + timedelta(minutes=66))
    assert resumed == expected
    assert book.to_json() == straight.to_json()
    assert run(book, signals) == []


def test_unknown_state_versions_are_refused() -> None:
    with pytest.raises(ValueError, match="state version"):
        Book(state={"state_version": 99})


def test_history_and_samples_are_capped() -> None:
    book = Book(LifecycleConfig(history_limit=50, sample_limit=20))
    for i in range(150):
        book.apply(sig("started", 10 * i, started=0, samples=(f"s{i}",)))
        book.apply(sig("ended", 10 * i + 5))
    [view] = book.incidents
    assert view.version == 300 and len(view.history) == 50
    assert [h.version for h in view.history] == [1, *range(252, 301)]
    assert view.sample_mention_ids == tuple(f"s{i}" for i in (*range(10), *range(140, 150)))
    assert len(json.dumps(book.to_json())) < 12_000

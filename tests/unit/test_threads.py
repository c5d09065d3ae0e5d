import ast
from datetime import timedelta
from pathlib import Path

import pytest

import models.threads.fold as fold_module
from models.threads.fold import ThreadMessage, fold
from streams.contracts.records import ScoredMention, Thread
from streams.search.threads import mark_removed, merge, resolve
from tests.factories import T0, mention, scored


def test_counts_timing_and_first_response() -> None:
    batch = [
        scored(mention(1, 0)),
        scored(mention(2, 10), sentiment="positive", complaint=False),
        scored(
            mention(3, 30, from_brand=True, author={"id": "zakupowo"}),
            sentiment="neutral",
            complaint=False,
        ),
        scored(mention(4, 50)),
    ]
    thread = merge(None, batch)
    assert thread.key == "zakupowo:facebook:post1"
    assert (thread.mentions, thread.customer_mentions, thread.brand_replies) == (4, 3, 1)
    assert (thread.negative, thread.complaints, thread.categories) == (2, 2, {"payment": 2})
    assert thread.started_at == T0 and thread.last_activity_at == T0 + timedelta(minutes=50)
    assert thread.first_response_at == T0 + timedelta(minutes=30)
    assert thread.first_response_seconds == 1800.0
    assert thread.status == "awaiting_brand" and thread.status_changed_at == T0 + timedelta(minutes=50)
    assert [c.status for c in thread.status_history] == ["new", "awaiting_customer", "awaiting_brand"]
    assert thread.awaiting_since == T0 + timedelta(minutes=50)
    assert thread.participants == ("u1", "u2", "u4")


def test_replayed_mentions_change_nothing() -> None:
    batch = [scored(mention(i, i)) for i in range(5)]
    once = merge(None, batch)
    assert merge(once, batch) == once
    assert merge(merge(None, batch[:3]), batch) == once


def test_order_of_arrival_does_not_matter() -> None:
    reply = scored(mention(9, 45, from_brand=True, author={"id": "zakupowo"}), "neutral", False)
    customers = [scored(mention(i, 20 + i)) for i in range(3)]
    in_order = merge(merge(None, customers), [reply])
    reply_first = merge(merge(None, [reply]), customers)
    assert reply_first.first_response_seconds == in_order.first_response_seconds == 25 * 60
    assert reply_first.status == in_order.status == "awaiting_customer"
    assert reply_first.status_history == in_order.status_history
    assert reply_first.mentions == in_order.mentions == 4


def test_statuses() -> None:
    only_brand = merge(None, [scored(mention(1, 0, from_brand=True, author={"id": "b"}), "neutral", False)])
    assert only_brand.status == "awaiting_customer" and only_brand.first_customer_at is None
    waiting = merge(only_brand, [scored(mention(2, 5))])
    assert waiting.status == "awaiting_brand" and waiting.first_response_at is None
    # a reply that came before the first customer post is not a response to it
    assert waiting.first_response_seconds is None


def test_empty_merge_is_an_error() -> None:
    with pytest.raises(ValueError):
        merge(None, [])


def test_the_fold_is_pure_models_logic_over_plain_messages() -> None:
    ask = ThreadMessage("x:1", T0, False, "negative", True, None)
    answer = ThreadMessage("x:2", T0 + timedelta(minutes=3), True, "neutral", False, None)
    state = fold(fold(None, [answer]), [ask, ask])
    assert (state.mentions, state.customer_mentions, state.categories) == (2, 1, {"other": 1})
    status = state.status()
    assert status is not None and status.status == "awaiting_customer"
    assert state.first_response_seconds == 180.0


def test_thread_logic_never_imports_streams() -> None:
    for path in Path(fold_module.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                assert not any(n.split(".")[0] == "streams" for n in names), path


def _reply(n: int, minutes: float, text: str) -> ScoredMention:
    m = mention(n, minutes, from_brand=True, author={"id": "zakupowo"}, text=text)
    return scored(m, "neutral", False)


def test_a_closing_reply_resolves_and_a_new_complaint_reopens() -> None:
    ask = scored(mention(1, 0, text="Paczka nie dotarła"))
    closing = _reply(
        2, 20, "Paczka wysłana ponownie, sprawa została rozwiązana. Cieszymy się, że mogliśmy pomóc!"
    )
    thread = merge(None, [ask, closing])
    assert thread.status == "resolved" and thread.status_changed_at == T0 + timedelta(minutes=20)
    assert thread.awaiting_since is None
    again = merge(thread, [scored(mention(3, 90, text="Nadal nic nie przyszło"))])
    assert again.status == "awaiting_brand" and again.awaiting_since == T0 + timedelta(minutes=90)


def test_a_customers_thanks_resolves_but_a_sarcastic_one_does_not() -> None:
    ask = scored(mention(1, 0, text="Gdzie jest mój zwrot?"))
    answer = _reply(2, 10, "Przepraszamy, zwrot został dziś zlecony.")
    thanks = scored(mention(3, 30, text="Dzięki, już doszło!"), "positive", False)
    sarcastic = scored(mention(4, 30, text="Dzięki za nic, nadal czekam."))
    assert merge(None, [ask, answer, thanks]).status == "resolved"
    assert merge(None, [ask, answer, sarcastic]).status == "awaiting_brand"


def test_resolve_command_and_replay() -> None:
    thread = merge(None, [scored(mention(1, 0))])
    done = resolve(thread, T0 + timedelta(hours=1))
    assert done.status == "resolved" and resolve(done, T0 + timedelta(hours=1)) == done
    assert merge(done, [scored(mention(1, 0))]) == done


def test_sentiment_trajectory_and_reply_mistakes() -> None:
    batch = [
        scored(mention(1, 0), "neutral", False),
        scored(mention(2, 5), "negative", True),
        _reply(3, 10, "Bardzo przepraszamy! Prosimy o kontakt z naszą infolinią pod numerem 22 123 45 67."),
        scored(mention(4, 20), "positive", False),
    ]
    thread = merge(None, batch)
    assert thread.sentiment is not None
    assert (thread.sentiment.first, thread.sentiment.latest, thread.sentiment.worst) == (
        "neutral",
        "positive",
        "negative",
    )
    assert "hotline_redirect" in thread.reply_mistakes and "apologised" in thread.reply_actions
    dm_only = merge(None, [batch[1], _reply(5, 10, "Napisz do nas na priv, wyjaśnimy.")])
    assert dm_only.reply_mistakes == ("private_only",)
    private = merge(None, [scored(mention(6, 0, channel="private")), _reply(7, 5, "Napisz do nas na priv")])
    assert private.public is False and "private_only" not in private.reply_mistakes


def test_a_quiet_open_thread_goes_stale() -> None:
    state = fold(None, [ThreadMessage("x:1", T0, False, "negative", True, None)])
    quiet = state.status(stale_after=timedelta(days=3), now=T0 + timedelta(days=4))
    assert quiet is not None and (quiet.status, quiet.at) == ("stale", T0 + timedelta(days=3))
    fresh = state.status(stale_after=timedelta(days=3), now=T0 + timedelta(days=2))
    assert fresh is not None and fresh.status == "new"


def test_documents_written_before_turns_were_kept_still_read() -> None:
    thread = merge(None, [scored(mention(1, 0))])
    legacy = thread.model_dump(mode="json") | {"status": "awaiting_response", "turns": []}
    assert Thread.model_validate(legacy).status == "new"


def test_a_removed_message_stays_in_its_thread_marked() -> None:
    thread = merge(None, [scored(mention(1, 0)), scored(mention(2, 5))])
    marked = mark_removed(thread, ["facebook:c1", "facebook:c9"])
    assert marked.removed_mentions == 1 and marked.mentions == 2
    assert [t.removed for t in marked.turns] == [True, False]
    assert mark_removed(marked, ["facebook:c1"]) == marked
    assert merge(marked, [scored(mention(3, 9))]).removed_mentions == 1  # later messages keep the mark

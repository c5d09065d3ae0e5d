import ast
from datetime import timedelta
from pathlib import Path

import pytest

import models.threads.fold as fold_module
from models.threads.fold import ThreadMessage, fold
from streams.search.threads import merge
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
    assert thread.status == "answered"


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
    assert reply_first.status == in_order.status == "answered"
    assert reply_first.mentions == in_order.mentions == 4


def test_statuses() -> None:
    only_brand = merge(None, [scored(mention(1, 0, from_brand=True, author={"id": "b"}), "neutral", False)])
    assert only_brand.status == "brand_only" and only_brand.first_customer_at is None
    waiting = merge(only_brand, [scored(mention(2, 5))])
    assert waiting.status == "awaiting_response" and waiting.first_response_at is None
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
    assert state.status == "answered" and state.first_response_seconds == 180.0


def test_thread_logic_never_imports_streams() -> None:
    for path in Path(fold_module.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                assert not any(n.split(".")[0] == "streams" for n in names), path

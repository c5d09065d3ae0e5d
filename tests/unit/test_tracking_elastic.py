"""Tracking rules as Elasticsearch query dicts."""

from __future__ import annotations

import json

import pytest

from models.tracking.elastic import to_elasticsearch
from models.tracking.grammar import RuleSyntaxError, parse


def test_word_is_a_match_query_on_the_field() -> None:
    assert to_elasticsearch("Łódź", field="text") == {"match": {"text": {"query": "lodz"}}}


def test_phrase_wildcard_and_near_are_intervals() -> None:
    assert to_elasticsearch('"nie działa"') == {
        "intervals": {"message": {"match": {"query": "nie dziala", "ordered": True, "max_gaps": 0}}}
    }
    assert to_elasticsearch("zamów*") == {"intervals": {"message": {"prefix": {"prefix": "zamow"}}}}
    assert to_elasticsearch('"zamów* teraz"') == {
        "intervals": {
            "message": {
                "all_of": {
                    "intervals": [{"prefix": {"prefix": "zamow"}}, {"match": {"query": "teraz"}}],
                    "ordered": True,
                    "max_gaps": 0,
                }
            }
        }
    }
    paczk = {"prefix": {"prefix": "paczk"}}
    nie_doszla = {"match": {"query": "nie doszla", "ordered": True, "max_gaps": 0}}
    assert to_elasticsearch('paczk* NEAR/3 "nie doszła"') == {
        "intervals": {
            "message": {"all_of": {"intervals": [paczk, nie_doszla], "ordered": False, "max_gaps": 3}}
        }
    }
    nie = {"match": {"query": "nie"}}
    assert to_elasticsearch('nie NEAR/2 "nie doszła"') == {  # the sides could match one word
        "intervals": {
            "message": {
                "any_of": {
                    "intervals": [
                        {"all_of": {"intervals": [nie, nie_doszla], "ordered": True, "max_gaps": 2}},
                        {"all_of": {"intervals": [nie_doszla, nie], "ordered": True, "max_gaps": 2}},
                    ]
                }
            }
        }
    }


def test_near_is_either_order_without_overlap() -> None:
    """``ordered: true`` intervals never overlap; ``ordered: false`` would let ``zamów*`` and
    ``zamówienie`` both match one word."""
    query = to_elasticsearch("zamów* NEAR/1 zamówienie")["intervals"]["message"]
    orders = [rule["all_of"] for rule in query["any_of"]["intervals"]]
    assert all(order["ordered"] is True and order["max_gaps"] == 1 for order in orders)
    assert [order["intervals"] for order in orders] == [
        [{"prefix": {"prefix": "zamow"}}, {"match": {"query": "zamowienie"}}],
        [{"match": {"query": "zamowienie"}}, {"prefix": {"prefix": "zamow"}}],
    ]
    assert to_elasticsearch("Nie NEAR/2 nie") == {
        "intervals": {
            "message": {
                "all_of": {
                    "intervals": [{"match": {"query": "nie"}}, {"match": {"query": "nie"}}],
                    "ordered": True,
                    "max_gaps": 2,
                }
            }
        }
    }


def test_boolean_structure() -> None:
    assert to_elasticsearch("orlen (paczka OR stacja) NOT giveaway*") == {
        "bool": {
            "must": [
                {"match": {"message": {"query": "orlen"}}},
                {
                    "bool": {
                        "should": [
                            {"match": {"message": {"query": "paczka"}}},
                            {"match": {"message": {"query": "stacja"}}},
                        ],
                        "minimum_should_match": 1,
                    }
                },
            ],
            "must_not": [{"intervals": {"message": {"prefix": {"prefix": "giveaway"}}}}],
        }
    }
    assert to_elasticsearch("NOT spam") == {"bool": {"must_not": [{"match": {"message": {"query": "spam"}}}]}}
    assert to_elasticsearch("NOT a NOT b") == {
        "bool": {"must_not": [{"match": {"message": {"query": "a"}}}, {"match": {"message": {"query": "b"}}}]}
    }


def test_accepts_a_parsed_tree_and_output_is_json() -> None:
    rule = 'orlen OR (t-mobile NEAR/1 "nie działa") NOT NOT x'
    query = to_elasticsearch(parse(rule))
    assert query == to_elasticsearch(rule)
    assert json.loads(json.dumps(query)) == query


def test_bad_rule_raises() -> None:
    with pytest.raises(RuleSyntaxError):
        to_elasticsearch("a OR")

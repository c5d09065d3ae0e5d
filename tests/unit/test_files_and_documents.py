import json
from pathlib import Path
from typing import Any

from streams.collectors.files import count_lines, read
from streams.search.documents import (
    mention_document,
    thread_document,
    thread_from_document,
)
from streams.search.layout import MENTION_PROPERTIES, THREAD_PROPERTIES, Layout
from streams.search.queries import MentionFilter, format_mention, mention_query
from streams.search.threads import merge
from tests.factories import T0, mention, scored


def test_jsonl_lines_pass_through_with_keys_and_times(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    good = mention(1).model_dump_json()
    path.write_text(good + "\n\n{not json\n")
    lines = list(read(path))
    assert [line.number for line in lines] == [1, 3]
    assert lines[0].value == good.encode() and lines[0].key == b"zakupowo:facebook:post1"
    assert lines[0].created_at == T0
    assert lines[1].value == b"{not json" and lines[1].key is None
    assert count_lines(path) == 2


def test_csv_rows_become_raw_mentions(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text(
        "platform,native_id,brand,author_id,author_name,author_followers,text,created_at,thread_id,from_brand\n"
        'x,1,zakupowo,u1,Ola,15,"paczka, znowu",2026-11-19T12:00:00Z,,no\n'
        "x,2,zakupowo,u2,Ola,lots,ok,2026-11-19T12:01:00Z,1,TRUE\n"
    )
    first, second = (json.loads(line.value) for line in read(path))
    assert first["author"] == {"id": "u1", "name": "Ola", "followers": 15}
    assert first["text"] == "paczka, znowu" and first["from_brand"] is False
    assert second["author"]["followers"] == "lots"  # left for the worker to reject, with a reason
    assert second["from_brand"] is True and second["thread_id"] == "1"
    assert count_lines(path) == 2


def paths(doc: dict[str, Any], prefix: str = "") -> set[str]:
    out = set()
    for key, value in doc.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value and key not in ("internal",):
            out |= paths(value, name + ".")
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for item in value:  # an array of objects is mapped as the object
                out |= paths(item, name + ".")
        else:
            out.add(name)
    return out


def mapped(properties: dict[str, Any], prefix: str = "") -> set[str]:
    out = set()
    for key, spec in properties.items():
        name = f"{prefix}{key}"
        if "properties" in spec:
            out |= mapped(spec["properties"], name + ".")
        else:
            out.add(name)
    return out


def test_documents_only_use_mapped_fields() -> None:
    s = scored(mention(1))
    assert paths(mention_document(s)) <= mapped(MENTION_PROPERTIES)
    thread = merge(None, [s])
    assert paths(thread_document(thread, "opening")) <= mapped(THREAD_PROPERTIES)


def test_thread_document_round_trip() -> None:
    thread = merge(None, [scored(mention(i, i)) for i in range(3)])
    assert thread_from_document(json.loads(json.dumps(thread_document(thread)))) == thread


def test_layout_names_and_templates() -> None:
    layout = Layout("fw")
    assert layout.mention_index(T0) == "fw-mentions-2026.11"
    templates = layout.templates()
    assert templates["fw-mentions"]["index_patterns"] == ["fw-mentions-*"]
    assert templates["fw-mentions"]["template"]["aliases"] == {"fw-mentions": {}}
    assert all(t["template"]["mappings"]["dynamic"] == "strict" for t in templates.values())


def test_mention_query_filters() -> None:
    q = mention_query(MentionFilter("blik", brand="zakupowo", complaints=True, since=T0))
    assert q["bool"]["must"][0]["multi_match"]["query"] == "blik"
    assert {"term": {"flarewatch.brand": "zakupowo"}} in q["bool"]["filter"]
    assert {"term": {"flarewatch.complaint": True}} in q["bool"]["filter"]
    assert mention_query(MentionFilter())["bool"]["must"] == [{"match_all": {}}]
    assert {"term": {"flarewatch.uncertain": True}} not in q["bool"]["filter"]
    review = mention_query(MentionFilter(uncertain=True))
    assert review["bool"]["filter"] == [{"term": {"flarewatch.uncertain": True}}]


def test_uncertain_scores_are_indexed_and_shown_for_review() -> None:
    s = scored(mention(1))
    s = s.model_copy(update={"scores": s.scores.model_copy(update={"uncertain": True})})
    document = mention_document(s)
    assert document["flarewatch"]["uncertain"] is True
    hit = {"_source": json.loads(json.dumps(document))}
    assert "(uncertain)" in format_mention(hit)
    assert "(uncertain)" not in format_mention({"_source": mention_document(scored(mention(2)))})

"""Cutting a unigram tokenizer to the pieces some languages use (models/vocabulary.py)."""

import json
from pathlib import Path
from typing import Any

import pytest
from tokenizers import AddedToken, Tokenizer, pre_tokenizers, processors
from tokenizers.models import Unigram

from models import vocabulary

PIECES = [
    ("<s>", 0.0),
    ("<pad>", 0.0),
    ("</s>", 0.0),
    ("<unk>", 0.0),
    ("▁", -2.0),
    ("a", -3.0),
    ("b", -3.0),
    ("c", -3.0),
    ("▁ab", -1.0),
    ("▁abc", -1.5),
    ("▁zz", -1.2),
    ("z", -4.0),
    ("!!", -2.5),
    ("▁Ab", -2.0),
    ("Ab", -2.5),
    ("▁xyz", -0.5),
    ("x", -4.0),
    ("y", -4.0),
    ("<mask>", 0.0),
]


def _tokenizer() -> Tokenizer:
    tok = Tokenizer(Unigram(PIECES, unk_id=3))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    tok.add_special_tokens([AddedToken(s, special=True) for s in ("<s>", "<pad>", "</s>", "<unk>", "<mask>")])
    return tok


def _spec() -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(_tokenizer().to_str())
    return spec


def _pieces(tok: Tokenizer, text: str) -> list[str]:
    return tok.encode(text).tokens


def test_a_word_split_by_kept_pieces_is_split_the_same_and_ids_follow_the_rows() -> None:
    full = _tokenizer()
    kept = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 18]  # drops ▁zz, z, ▁Ab, Ab, ▁xyz, x, y
    pruned = Tokenizer.from_str(json.dumps(vocabulary.pruned_spec(_spec(), kept)))
    for text in ["abc ab", "ab!!", "cab"]:
        before, after = full.encode(text), pruned.encode(text)
        assert after.tokens == before.tokens
        assert [kept[i] for i in after.ids] == before.ids  # row i of the cut table is row kept[i]
    assert pruned.token_to_id("<mask>") == len(kept) - 1
    assert pruned.encode("ab").ids[0] == 0 and pruned.encode("ab").ids[-1] == 2


def test_a_word_that_needed_a_dropped_piece_falls_back_to_kept_ones() -> None:
    kept = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 18]  # ▁zz dropped, z kept
    pruned = Tokenizer.from_str(json.dumps(vocabulary.pruned_spec(_spec(), kept)))
    assert _pieces(_tokenizer(), "zz") == ["<s>", "▁zz", "</s>"]
    assert _pieces(pruned, "zz") == ["<s>", "▁", "z", "z", "</s>"]


def test_the_unknown_piece_is_renumbered_and_special_tokens_must_stay() -> None:
    spec = _spec()
    kept = [0, 1, 2, 3, 5, 18]
    cut = vocabulary.pruned_spec(spec, kept)
    assert cut["model"]["unk_id"] == 3
    assert [t["id"] for t in cut["added_tokens"]] == [0, 1, 2, 3, 5]
    assert spec["model"]["vocab"] == [list(p) for p in PIECES]  # the original is not changed
    with pytest.raises(KeyError):
        vocabulary.pruned_spec(spec, [1, 2, 3, 4])  # <s> missing


def test_kept_pieces_follow_the_rules() -> None:
    kept = vocabulary.kept_pieces(_spec(), _tokenizer(), [["ab"], ["abc"]], common=6)
    names = {PIECES[i][0] for i in kept}
    # special tokens; one-character pieces and pieces without letters; the words' pieces
    # (▁ab, ▁abc, and ▁Ab for the capitalised form); the six most probable pieces (the special tokens and ▁xyz); and the case
    # forms of kept pieces (Ab)
    assert names == {p for p, _ in PIECES} - {"▁zz"}
    assert kept == sorted(kept)


def test_the_pruned_tokenizer_file_is_written_and_reads_the_same(tmp_path: Path) -> None:
    source = tmp_path / "full.json"
    source.write_text(_tokenizer().to_str())
    kept = vocabulary.prune(source, tmp_path / "cut.json", [["abc"]], common=0)
    assert len(kept) < len(PIECES)
    cut = Tokenizer.from_file(str(tmp_path / "cut.json"))
    assert [kept[i] for i in cut.encode("abc a").ids] == _tokenizer().encode("abc a").ids

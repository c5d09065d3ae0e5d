"""The default scorer's lean runtime: the cut vocabulary, no torch, the same labels as fp32."""

import subprocess
import sys

import pytest

from models.corpus import Split, load_split
from models.e5.cache import ensure_encoder
from models.encoder import load_tokenizer, model_input
from models.loading import ScorerConfig
from models.scorer import Scorer
from models.scores import ScoreRequest
from models.torch_encoder import load_hf_tokenizer

pytestmark = pytest.mark.model

LONG = "Zamówienie nie dotarło, a infolinia milczy. " * 40


def _test_texts() -> dict[str, list[str]]:
    texts: dict[str, list[str]] = {}
    for example in load_split(Split.TEST):
        texts.setdefault(example.lang, []).append(example.text)
    return texts


def test_the_cut_vocabulary_splits_almost_every_mention_as_the_full_one(
    scorer_config: ScorerConfig, scorer: Scorer
) -> None:
    cut = scorer.backend.encoder.tokenizer  # type: ignore[attr-defined]
    full = load_tokenizer(ensure_encoder(scorer_config.cache_dir))
    assert 90_000 <= cut.get_vocab_size() <= 110_000 < full.get_vocab_size()
    for lang, texts in _test_texts().items():
        before = [e.tokens for e in full.encode_batch(texts)]
        after = [e.tokens for e in cut.encode_batch(texts)]
        same = sum(a == b for a, b in zip(before, after, strict=True)) / len(texts)
        assert same >= 0.96, (lang, same)
        # nothing the full vocabulary reads becomes unknown
        unknown = [
            sum(e.ids.count(tok.token_to_id("<unk>")) for e in tok.encode_batch(texts)) for tok in (full, cut)
        ]
        assert unknown[0] == unknown[1]


def test_the_tokenizers_library_gives_the_transformers_ids_truncation_included(
    scorer_config: ScorerConfig, fp32_scorer: Scorer
) -> None:
    reference = load_hf_tokenizer(ensure_encoder(scorer_config.cache_dir))
    encoder = fp32_scorer.backend.encoder  # type: ignore[attr-defined]
    texts = [LONG, "ok", "Köszönöm! 😍", *_test_texts()["hu"][:50]]
    prepare = model_input(encoder.spec, reference.get_vocab())
    expected = reference([prepare(t) for t in texts], truncation=True, max_length=encoder.options.max_length)[
        "input_ids"
    ]
    assert encoder.tokenize(texts) == [list(ids) for ids in expected]
    assert len(encoder.tokenize([LONG])[0]) == encoder.options.max_length


def test_scoring_through_onnx_never_imports_torch(scorer: Scorer) -> None:
    """Run in a fresh process with the caches the ``scorer`` fixture built."""
    code = (
        "import sys\n"
        "from models.loading import ScorerConfig, build_scorer\n"
        "from models.scores import ScoreRequest\n"
        "from streams.config.scoring import default_cache_dir\n"
        "scorer = build_scorer(ScorerConfig(cache_dir=default_cache_dir()))\n"
        "[score] = scorer.score([ScoreRequest(sys.argv[1])])\n"
        "assert score.complaint, score\n"
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))\n"
    )
    text = (
        "Zamówienie złożone 2 tygodnie temu, paczka dalej nie dotarła, kurier nie odbiera telefonu. Skandal!"
    )
    done = subprocess.run([sys.executable, "-c", code, text], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_default_labels_agree_with_fp32_on_the_test_split(scorer: Scorer, fp32_scorer: Scorer) -> None:
    requests = [ScoreRequest(e.text, e.lang) for e in load_split(Split.TEST)]
    fast, slow = scorer.score(requests), fp32_scorer.score(requests)
    labels = [
        sum(getattr(a, k) == getattr(b, k) for a, b in zip(fast, slow, strict=True)) / len(requests)
        for k in ("sentiment", "complaint", "category")
    ]
    assert min(labels) >= 0.98, labels

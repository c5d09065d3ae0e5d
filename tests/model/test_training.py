"""Training is reproducible: same seed, same weights."""

import pytest
import torch

from models.corpus import Split, load_split
from models.e5.cache import ensure_encoder
from models.training import TrainConfig, augmented, train
from streams.config.scoring import default_cache_dir

pytestmark = pytest.mark.model


def test_same_seed_same_weights_other_seed_other_weights() -> None:
    examples = load_split(Split.TRAIN)[::60]  # a small, mixed sample
    encoder = ensure_encoder(default_cache_dir())
    config = TrainConfig(epochs=1, batch_size=8, augment=False)
    first = train(examples, encoder, config, log=lambda _: None)
    second = train(examples, encoder, config, log=lambda _: None)
    other = train(
        examples, encoder, TrainConfig(epochs=1, batch_size=8, augment=False, seed=99), log=lambda _: None
    )
    assert first.deltas.keys() == second.deltas.keys()
    assert all(torch.equal(first.deltas[k], second.deltas[k]) for k in first.deltas)
    assert (first.heads.stance_weight == second.heads.stance_weight).all()
    assert not (first.heads.stance_weight == other.heads.stance_weight).all()
    assert len(first.history) == 1 and first.history[0]["loss"] > 0
    assert first.calibration["held_out"] > 0 and first.calibration["temperature"] > 0
    assert first.heads.temperature == pytest.approx(first.calibration["temperature"], abs=1e-4)


def test_augmentation_adds_diacritic_free_exclamation_and_emoji_variants() -> None:
    examples = [ex for ex in load_split(Split.TRAIN) if ex.lang == "pl"][:50]
    more = augmented(examples, enabled=True)
    assert more[:50] == examples
    assert {ex.id.rsplit("~", 1)[1] for ex in more[50:]} >= {"ascii", "bang", "emoji"}
    assert sum(1 for ex in more if ex.id.endswith(("~bang", "~emoji"))) <= 50  # one of the two each
    assert all(ex.stance == next(e for e in examples if ex.id.startswith(e.id)).stance for ex in more)


def test_a_model_that_folds_diacritics_gets_no_diacritic_free_copies() -> None:
    examples = [ex for ex in load_split(Split.TRAIN) if ex.lang == "hu"][:50]
    more = augmented(examples, enabled=True, ascii_copies=False)
    assert more[:50] == examples and not any(ex.id.endswith("~ascii") for ex in more)

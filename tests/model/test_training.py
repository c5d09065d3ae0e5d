"""Training is reproducible: same seed, same weights."""

import dataclasses

import pytest
import torch

from models import artifact as artifacts
from models.artifact import PACKAGED
from models.corpus import Split, load_split
from models.e5.cache import ensure_encoder
from models.encoder import model_input
from models.labels import CATEGORIES
from models.torch_encoder import FeatureModel, load_bert, load_hf_tokenizer
from models.training import TrainConfig, augmented, distillation_loss, teacher_logits, train
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


def test_full_fine_tuning_saves_full_deltas_that_change_the_encoder() -> None:
    examples = load_split(Split.TRAIN)[::150]
    encoder = ensure_encoder(default_cache_dir())
    config = TrainConfig(epochs=1, batch_size=8, augment=False, full=True, full_lr=1e-3)
    result = train(examples, encoder, config, log=lambda _: None)
    assert result.deltas and all(k.endswith(".delta") for k in result.deltas)
    assert {k.split(".")[2] for k in result.deltas} == {str(i) for i in range(1, config.spec.layers)}
    name = "encoder.layer.3.output.dense"
    delta = result.deltas[f"{name}.delta"]
    assert delta.dtype == torch.float16 and float(delta.abs().max()) > 0
    before = load_bert(encoder, config.spec).state_dict()[f"{name}.weight"]
    after = load_bert(encoder, config.spec, result.deltas).state_dict()[f"{name}.weight"]
    torch.testing.assert_close(after - before, delta.float(), atol=1e-6, rtol=0)


def test_the_saved_deltas_are_the_kept_share_of_the_trained_ones() -> None:
    examples = load_split(Split.TRAIN)[::150]
    encoder = ensure_encoder(default_cache_dir())
    config = TrainConfig(epochs=1, batch_size=8, augment=False, full_lr=1e-3, delta_share=1.0)
    whole = train(examples, encoder, config, log=lambda _: None)
    half = train(examples, encoder, dataclasses.replace(config, delta_share=0.5), log=lambda _: None)
    assert whole.deltas.keys() == half.deltas.keys()
    for key, delta in whole.deltas.items():
        torch.testing.assert_close(half.deltas[key].float(), 0.5 * delta.float(), atol=1e-3, rtol=1e-2)
    assert (whole.heads.stance_weight == half.heads.stance_weight).all()
    assert any(float(d.abs().max()) > 0 for d in whole.deltas.values())


def test_augmentation_adds_diacritic_free_exclamation_and_emoji_variants() -> None:
    examples = [ex for ex in load_split(Split.TRAIN) if ex.lang == "pl"][:50]
    more = augmented(examples, enabled=True)
    assert more[:50] == examples
    assert {ex.id.rsplit("~", 1)[1] for ex in more[50:]} >= {"ascii", "bang", "emoji"}
    assert sum(1 for ex in more if ex.id.endswith(("~bang", "~emoji"))) <= 50  # one of the two each
    assert all(ex.stance == next(e for e in examples if ex.id.startswith(e.id)).stance for ex in more)


def test_second_problem_copies_are_complaints_that_go_on_with_another_complaint() -> None:
    examples = load_split(Split.TRAIN)[::20]
    plain = augmented(examples, enabled=True)
    more = augmented(examples, enabled=True, second_problem=True)
    joined = [ex for ex in more if ex.id.endswith("~more")]
    assert not any(ex.id.endswith("~more") for ex in plain) and len(more) == len(plain) + len(joined)
    complaints = [ex for ex in examples if ex.complaint]
    assert 0.2 * len(complaints) < len(joined) < 0.5 * len(complaints)
    by_id = {ex.id: ex for ex in examples}
    for copy in joined:
        first = by_id[copy.id.removesuffix("~more")]
        assert first.complaint and copy.stance == first.stance and copy.category is None
        rest = copy.text.removeprefix(first.text.rstrip() + " ")
        assert rest != copy.text and any(
            ex.text.strip() == rest and ex.lang == first.lang and ex.complaint and ex.id != first.id
            for ex in complaints
        )


def test_a_model_that_folds_diacritics_gets_no_diacritic_free_copies() -> None:
    examples = [ex for ex in load_split(Split.TRAIN) if ex.lang == "hu"][:50]
    more = augmented(examples, enabled=True, ascii_copies=False)
    assert more[:50] == examples and not any(ex.id.endswith("~ascii") for ex in more)


def test_distillation_loss_is_zero_only_when_the_student_agrees_with_the_teacher() -> None:
    teacher = torch.tensor([[2.0, 0.0, -1.0, 0.5], [0.0, 3.0, 0.0, 0.0]])
    assert distillation_loss(teacher.clone(), teacher, 2.0).item() == pytest.approx(0.0, abs=1e-6)
    student = torch.zeros_like(teacher, requires_grad=True)
    loss = distillation_loss(student, teacher, 2.0)
    assert loss.item() > 0
    loss.backward()
    assert student.grad is not None
    # One gradient step moves the student's top class towards the teacher's.
    moved = (student - student.grad).argmax(dim=1)
    assert moved.tolist() == teacher.argmax(dim=1).tolist()


def test_teacher_logits_follow_the_training_order_whatever_the_lengths() -> None:
    examples = load_split(Split.TRAIN)[::400]
    encoder = ensure_encoder(default_cache_dir())
    config = TrainConfig()
    trained = artifacts.load(PACKAGED)
    stance, category = teacher_logits(trained, encoder, examples, config, log=lambda _: None)
    assert stance.shape == (len(examples), 4) and category.shape == (len(examples), len(CATEGORIES))
    back, _ = teacher_logits(trained, encoder, examples[::-1], config, log=lambda _: None)
    assert torch.allclose(back.flip(0), stance, atol=1e-3)
    tokenizer = load_hf_tokenizer(encoder)
    model = FeatureModel(load_bert(encoder, trained.spec, trained.deltas), trained.spec.feature_layers)
    for i in (0, len(examples) // 2, len(examples) - 1):
        encoded = tokenizer(
            model_input(trained.spec, tokenizer.get_vocab())(examples[i].text), return_tensors="pt"
        )
        with torch.inference_mode():
            features = model(encoded["input_ids"], encoded["attention_mask"]).numpy()
        alone = torch.from_numpy(trained.heads.stance_logits(features)[0])
        assert torch.allclose(alone, stance[i], atol=1e-3)


def test_a_teacher_changes_what_the_model_learns() -> None:
    examples = load_split(Split.TRAIN)[::120]
    encoder = ensure_encoder(default_cache_dir())
    plain = TrainConfig(epochs=1, batch_size=8, augment=False)
    taught = dataclasses.replace(plain, teacher=artifacts.load(PACKAGED))
    alone = train(examples, encoder, plain, log=lambda _: None)
    lines: list[str] = []
    with_teacher = train(examples, encoder, taught, log=lines.append)
    assert any(line.startswith("teacher ") for line in lines)
    assert not (alone.heads.stance_weight == with_teacher.heads.stance_weight).all()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (run it where one is lent)")
def test_training_on_a_gpu_saves_the_same_kind_of_weights_close_to_the_cpu_run() -> None:
    examples = load_split(Split.TRAIN)[::150]
    encoder = ensure_encoder(default_cache_dir())
    config = TrainConfig(epochs=1, batch_size=8, augment=False, full_lr=1e-3)
    cpu = train(examples, encoder, config, log=lambda _: None)
    gpu = train(examples, encoder, dataclasses.replace(config, device="cuda"), log=lambda _: None)
    assert gpu.deltas.keys() == cpu.deltas.keys()
    assert all(d.device.type == "cpu" and d.dtype == torch.float16 for d in gpu.deltas.values())
    # Summed in another order, the updates differ in the last bits and compound over the steps;
    # the direction of every delta stays the CPU run's.
    for key, delta in cpu.deltas.items():
        similarity = torch.nn.functional.cosine_similarity(
            delta.float().flatten(), gpu.deltas[key].float().flatten(), dim=0
        )
        assert float(similarity) > 0.9, key
    assert gpu.calibration["temperature"] > 0

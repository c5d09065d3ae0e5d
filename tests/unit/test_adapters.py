import pytest
import torch
from transformers import BertConfig, BertModel

from models import adapters


def tiny_bert() -> BertModel:
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=50,
        hidden_size=32,
        num_hidden_layers=3,
        num_attention_heads=2,
        intermediate_size=64,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    return BertModel(config, add_pooling_layer=False).eval()


def test_merged_deltas_reproduce_the_adapted_model() -> None:
    model = tiny_bert()
    reference = tiny_bert()
    lora = adapters.attach(model, first_layer=1, rank=4, alpha=8.0, dropout=0.0)
    assert len(lora) == 2 * len(adapters.TARGETS)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {f"{name}.{factor}" for name in lora for factor in ("a", "b")}
    with torch.no_grad():
        for module in lora.values():
            module.b.normal_()  # B starts at zero; make the adapters do something
    ids = torch.tensor([[1, 5, 7, 9, 2]])
    with torch.inference_mode():
        adapted = model(input_ids=ids).last_hidden_state
        before = reference(input_ids=ids).last_hidden_state
    adapters.merge(reference, adapters.export_deltas(lora))
    with torch.inference_mode():
        merged = reference(input_ids=ids).last_hidden_state
    assert not torch.allclose(before, adapted, atol=1e-3)
    torch.testing.assert_close(merged, adapted, atol=1e-4, rtol=1e-4)


def test_only_adapted_layers_change() -> None:
    model, reference = tiny_bert(), tiny_bert()
    lora = adapters.attach(model, first_layer=2, rank=2, alpha=4.0)
    with torch.no_grad():
        for module in lora.values():
            module.b.fill_(0.1)
    adapters.merge(reference, adapters.export_deltas(lora))
    fresh = tiny_bert()
    assert torch.equal(
        reference.encoder.layer[1].output.dense.weight, fresh.encoder.layer[1].output.dense.weight
    )
    assert not torch.equal(
        reference.encoder.layer[2].output.dense.weight, fresh.encoder.layer[2].output.dense.weight
    )


def test_mismatched_deltas_are_rejected() -> None:
    model = tiny_bert()
    bad = {
        "encoder.layer.0.intermediate.dense.lora_a": torch.zeros(2, 31),
        "encoder.layer.0.intermediate.dense.lora_b": torch.zeros(64, 2),
    }
    with pytest.raises(ValueError, match="does not fit"):
        adapters.merge(model, bad)


def test_full_deltas_train_whole_weights_and_merge_like_adapters() -> None:
    model, reference = tiny_bert(), tiny_bert()
    full = adapters.attach_full(model, first_layer=1)
    assert len(full) == 2 * len(adapters.TARGETS)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {f"{name}.d" for name in full}
    with torch.no_grad():
        for module in full.values():
            module.d.normal_(std=0.05)
    ids = torch.tensor([[1, 5, 7, 9, 2]])
    with torch.inference_mode():
        tuned = model(input_ids=ids).last_hidden_state
        before = reference(input_ids=ids).last_hidden_state
    saved = adapters.export_deltas(full)
    assert all(k.endswith(".delta") and v.dtype == torch.float16 for k, v in saved.items())
    adapters.merge(reference, saved)
    with torch.inference_mode():
        merged = reference(input_ids=ids).last_hidden_state
    assert not torch.allclose(before, tuned, atol=1e-3)
    torch.testing.assert_close(merged, tuned, atol=2e-3, rtol=2e-3)  # fp16 deltas
    with pytest.raises(ValueError, match="does not fit"):
        adapters.merge(tiny_bert(), {"encoder.layer.0.output.dense.delta": torch.zeros(3, 3)})


@pytest.mark.parametrize("full", [True, False])
def test_scaled_deltas_move_the_weights_that_share_of_the_way(full: bool) -> None:
    model = tiny_bert()
    tuned = adapters.attach_full(model, 1) if full else adapters.attach(model, 1, 4, 8.0, 0.0)
    with torch.no_grad():
        for module in tuned.values():
            (module.d if isinstance(module, adapters.FullDelta) else module.b).normal_(std=0.05)
    before = {k: v.float() for k, v in adapters.export_deltas(tuned).items()}
    adapters.scale_deltas(tuned, 0.9)
    after = {k: v.float() for k, v in adapters.export_deltas(tuned).items()}
    changed = [k for k in after if not k.endswith(".lora_a")]
    assert changed and all(float(before[k].abs().max()) > 0 for k in changed)
    for k in after:
        expected = before[k] if k.endswith(".lora_a") else 0.9 * before[k]
        torch.testing.assert_close(after[k], expected, atol=1e-3, rtol=1e-3)
    adapters.scale_deltas(tuned, 0.0)
    assert all(float(v.abs().max()) == 0 for k, v in adapters.export_deltas(tuned).items() if k in changed)
    with pytest.raises(ValueError, match="negative"):
        adapters.scale_deltas(tuned, -0.5)

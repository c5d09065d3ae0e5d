"""Reproducible training of the adapters and heads on the labelled corpus.

The encoder stays frozen; low-rank adapters on its top layers and two linear heads are trained
together. Same seed, same thread count and same library versions give the same weights.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from models import adapters
from models.augment import strip_diacritics, toggle_exclamation
from models.corpus import Example
from models.encoder import EncoderSpec, FeatureModel, load_bert, load_tokenizer
from models.heads import Heads
from models.labels import CATEGORIES, STANCES

Log = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class TrainConfig:
    seed: int = 13
    epochs: int = 5
    batch_size: int = 16
    adapter_lr: float = 5e-4
    head_lr: float = 2e-3
    weight_decay: float = 0.01
    rank: int = 8
    first_adapted_layer: int = 3
    """0-based: with 7 layers, layers 4-7 get adapters."""
    label_smoothing: float = 0.05
    augment: bool = True
    """Add copies without diacritics and with the final exclamation mark toggled."""
    feature_scale: float = 10.0
    threads: int = 2
    max_length: int = 128
    spec: EncoderSpec = field(default_factory=EncoderSpec)


@dataclass(frozen=True, slots=True)
class TrainResult:
    heads: Heads
    deltas: dict[str, torch.Tensor]
    history: list[dict[str, float]]


def augmented(examples: Sequence[Example], enabled: bool) -> list[Example]:
    """The examples plus, for each, a copy without diacritics (when that differs) and a copy with
    the final exclamation mark toggled."""
    if not enabled:
        return list(examples)
    extra = []
    for ex in examples:
        for suffix, text in (("~ascii", strip_diacritics(ex.text)), ("~bang", toggle_exclamation(ex.text))):
            if text != ex.text:
                extra.append(
                    Example(ex.id + suffix, ex.lang, text, ex.sentiment, ex.complaint, ex.category, ex.tags)
                )
    return [*examples, *extra]


def seed_everything(seed: int, threads: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(threads)


def train(
    examples: Sequence[Example], encoder_dir: Path, config: TrainConfig, log: Log = print
) -> TrainResult:
    """Fine-tune; CPU-bound, several minutes on two cores. Logs one line per 25 steps."""
    seed_everything(config.seed, config.threads)
    trainer = _Trainer(encoder_dir, config, log)
    data = augmented(examples, config.augment)
    log(f"training on {len(data)} texts ({len(examples)} + augmented), {config.epochs} epochs")
    order = np.random.default_rng(config.seed)
    history = [trainer.epoch(epoch, data, order) for epoch in range(config.epochs)]
    return TrainResult(trainer.heads(), adapters.export_deltas(trainer.lora), history)


class _Trainer:
    def __init__(self, encoder_dir: Path, config: TrainConfig, log: Log) -> None:
        self.config, self.log = config, log
        spec = config.spec
        self.tokenizer = load_tokenizer(encoder_dir)
        bert = load_bert(encoder_dir, spec)
        self.lora = adapters.attach(bert, config.first_adapted_layer, config.rank, 2.0 * config.rank)
        self.model = FeatureModel(bert, spec.feature_layers)
        dim = spec.feature_dim(int(bert.config.hidden_size))
        self.stance_head = nn.Linear(dim, len(STANCES))
        self.category_head = nn.Linear(dim, len(CATEGORIES))
        self.optimizer = torch.optim.AdamW(
            [
                {
                    "params": [p for m in self.lora.values() for p in (m.a, m.b)],
                    "lr": config.adapter_lr,
                },
                {
                    "params": [*self.stance_head.parameters(), *self.category_head.parameters()],
                    "lr": config.head_lr,
                },
            ],
            weight_decay=config.weight_decay,
        )
        self.schedule: torch.optim.lr_scheduler.OneCycleLR | None = None
        self.stance_index = {s: i for i, s in enumerate(STANCES)}
        self.category_index = {c: i for i, c in enumerate(CATEGORIES)}

    def epoch(self, epoch: int, data: list[Example], order: np.random.Generator) -> dict[str, float]:
        size = self.config.batch_size
        steps = math.ceil(len(data) / size)
        if self.schedule is None:
            self.schedule = torch.optim.lr_scheduler.OneCycleLR(
                self.optimizer,
                max_lr=[self.config.adapter_lr, self.config.head_lr],
                total_steps=self.config.epochs * steps,
                pct_start=0.1,
            )
        self.model.train()
        started, total = time.monotonic(), 0.0
        permutation = order.permutation(len(data))
        for step in range(steps):
            total += self.step([data[i] for i in permutation[step * size : (step + 1) * size]])
            if (step + 1) % 25 == 0 or step + 1 == steps:
                rate = (step + 1) * size / (time.monotonic() - started)
                self.log(
                    f"epoch {epoch + 1}/{self.config.epochs} step {step + 1}/{steps} "
                    f"loss {total / (step + 1):.3f} ({rate:.0f} texts/s)"
                )
        return {"epoch": epoch + 1, "loss": total / steps, "seconds": time.monotonic() - started}

    def step(self, batch: list[Example]) -> float:
        c = self.config
        encoded = self.tokenizer(
            [c.spec.prefix + ex.text for ex in batch],
            padding=True,
            truncation=True,
            max_length=c.max_length,
            return_tensors="pt",
        )
        features = self.model(encoded["input_ids"], encoded["attention_mask"]) * c.feature_scale
        stances = torch.tensor([self.stance_index[ex.stance] for ex in batch])
        loss = nn.functional.cross_entropy(
            self.stance_head(features), stances, label_smoothing=c.label_smoothing
        )
        rows = [i for i, ex in enumerate(batch) if ex.category is not None]
        if rows:
            categories = torch.tensor([self.category_index[batch[i].category] for i in rows])  # type: ignore[index]
            loss = loss + nn.functional.cross_entropy(
                self.category_head(features[rows]), categories, label_smoothing=c.label_smoothing
            )
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        assert self.schedule is not None
        self.schedule.step()
        return float(loss.item())

    def heads(self) -> Heads:
        return _export_heads(self.stance_head, self.category_head, self.config.feature_scale)


def _export_heads(stance: nn.Linear, category: nn.Linear, scale: float) -> Heads:
    def weights(layer: nn.Linear) -> tuple[np.ndarray, np.ndarray]:
        return (
            (layer.weight.detach() * scale).numpy().astype(np.float32),
            layer.bias.detach().numpy().astype(np.float32),
        )

    sw, sb = weights(stance)
    cw, cb = weights(category)
    return Heads(sw, sb, cw, cb)

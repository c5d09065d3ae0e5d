"""Reproducible training of the encoder's layers (as deltas) and the heads on the labelled corpus.

The pretrained encoder weights stay as they are; the trained layers get a delta each (full-rank,
or low-rank adapters), trained together with two linear heads. Same seed, same thread count and
same library versions give the same weights.
"""

from __future__ import annotations

import dataclasses
import math
import random
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from models import adapters
from models import artifact as artifacts
from models.augment import (
    add_neutral_emoji,
    brand_names,
    strip_diacritics,
    swap_brands,
    toggle_exclamation,
)
from models.corpus import Example
from models.encoder import EncoderSpec, model_input
from models.heads import Heads
from models.labels import CATEGORIES, STANCES
from models.torch_encoder import FeatureModel, load_bert, load_hf_tokenizer, torch_device

Log = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class TrainConfig:
    seed: int = 13
    epochs: int = 5
    batch_size: int = 16
    adapter_lr: float = 5e-4
    head_lr: float = 2e-3
    weight_decay: float = 0.01
    rank: int = 16
    full: bool = True
    """Fine-tune the adapted layers' Linear weights whole (a full-rank delta each, saved in fp16,
    about 3.5 MB a layer: 39 MB for layers 2-12) instead of training rank-``rank`` adapters. On
    the first 7 layers (``7aa7814a7e``, seed 13, 2 threads, the corpus before the blind lines, 40 minutes):
    minimum-functionality failures 63/780 with 8 cells over 10%, invariance 77/2003, against the
    rank-16 adapters' 67, 12 and 90 (``75eda9efe0``) (model card, "Tried in the ninth session")."""
    full_lr: float = 8e-5
    """Peak learning rate of the full deltas. On the corpus before the blind lines (7 layers),
    3e-5 / 5e-5 / 8e-5 gave Hungarian complaint F1 0.902 / 0.919 / 0.932 and invariance changes
    114 / 87 / 77 of 2003: the lower rates stay too close to the pretrained weights."""
    delta_share: float = 0.9
    """Share of the trained deltas (or adapter products) kept after the last epoch, before the
    temperature is fitted and the model saved: a weight-space average of the fine-tuned and the
    pretrained encoder (WiSE-FT, Wortsman et al., CVPR 2022), which keeps more of what the
    encoder learnt before our corpus. Measured by scaling three finished runs of this recipe
    (``0738cf63ff``, ``442c6a07ea``, ``6948d6718c``): 0.9 lowered minimum-functionality failures
    54 / 51 / 52 -> 49 / 49 / 47 of 780 and directional failures 10 / 12 / 29 -> 8 / 8 / 23 of
    780; on ``442c6a07ea`` it moved no test-split F1 by more than 0.007, 0.7 / 0.8 read sarcasm
    worse (17 and 16 failures of 60, against 13) and 1.1 / 1.2 read the suite worse. Trained with
    it: ``378935fb81``, 5 cells over the bar where ``442c6a07ea`` has 6 (model card, "Figures")."""
    first_adapted_layer: int = 1
    """0-based: layers 2 and up are trained. Measured on the corpus with its first extra batch:
    rank 16 on layers 2-7 reached test-split macro-F1 0.928 where rank 8 on layers 4-7 reached
    0.920, at the same speed once merged."""
    label_smoothing: float = 0.05
    augment: bool = True
    """Add copies without diacritics and with the final exclamation mark toggled."""
    second_problem: bool = True
    """With ``augment``: also a copy of a third of the complaints with another complaint of the
    same language appended, with the first's stance and no category (the two problems may be of
    different categories, so the copies do not train the category head). A mention that reports a
    second problem is no less a complaint; without these copies a model can learn that a sentence
    after a complaint (most often a resolution, in the corpus) turns it positive: trained without
    them on the same corpus, directional failures rose to 8.7% (model card, "Tried")."""
    feature_scale: float = 10.0
    threads: int = 2
    max_length: int = 128
    calibration_share: float = 0.1
    """Share of the training examples (chosen by a hash of their id, in every language) held out
    of training to fit the temperature that calibrates the stance probabilities."""
    length_chunk: int = 32
    """Batches are formed within chunks of this many batches sorted by text length: less padding,
    same randomness across chunks."""
    spec: EncoderSpec = field(default_factory=lambda: EncoderSpec(spell_emoji=True).keeping(12))
    """All 12 layers, features from layers 10 and 12. The shipped weights ``378935fb81`` (seed 13,
    2 threads, this corpus, 0.9 of the deltas kept, 103 minutes): minimum-functionality failures
    51/780 (5 cells over 10%), complaint F1 0.965 / 0.956 / 0.974 and complaint ECE 0.024 on the
    test split; the same run with every delta kept (``442c6a07ea``): 51/780 (6 cells). On the
    corpus without the twelfth session's 705 blind lines (``0738cf63ff``): 51/780 (8 cells); before the
    blind ``pending/`` lines joined it (``232f8ac870``): 57/780 (8 cells); on the first 7 layers
    (``7aa7814a7e``): 63/780, at 1.7x the speed (model card, "Figures")."""
    teacher: artifacts.Artifact | None = None
    """A trained artifact (for example a 12-layer model) whose stance and category
    probabilities the model also learns from (knowledge distillation, Hinton et al., 2015)."""
    distill_weight: float = 0.5
    """Share of the loss that follows the teacher's probabilities; the rest follows the labels."""
    distill_temperature: float = 2.0
    device: str = "cpu"
    """Where the encoder trains: ``cpu``, or ``cuda`` / ``cuda:N`` for a GPU (fp32 there too, so
    that a GPU run follows the same recipe). The same weights for the same seed are promised on
    the CPU with the same thread count; CUDA kernels may sum in another order, so a GPU run is
    close to the CPU one, not equal to it."""


@dataclass(frozen=True, slots=True)
class TrainResult:
    heads: Heads
    deltas: dict[str, torch.Tensor]
    history: list[dict[str, float]]
    calibration: dict[str, float] = field(default_factory=dict)


def augmented(
    examples: Sequence[Example], enabled: bool, ascii_copies: bool = True, second_problem: bool = False
) -> list[Example]:
    """The examples plus, for each, a copy without diacritics (when that differs and
    ``ascii_copies``: a model that folds diacritics itself gains nothing from it), either a copy
    with the final exclamation mark toggled or one with an unrelated emoji appended (half each, by
    a hash of the id), and, when it names one of the corpus's brands, a copy naming another. With
    ``second_problem``, a third of the complaints (by a hash of the id) also get a copy that goes
    on with another complaint of their language (``TrainConfig.second_problem``)."""
    if not enabled:
        return list(examples)
    names = brand_names(ex.text for ex in examples)
    extra = _second_problems(examples) if second_problem else []
    for ex in examples:
        swapped = swap_brands(ex.text, names, ex.id)
        if swapped != ex.text:
            extra.append(
                Example(ex.id + "~brand", ex.lang, swapped, ex.sentiment, ex.complaint, ex.category, ex.tags)
            )
        second = (
            ("~bang", toggle_exclamation(ex.text))
            if zlib.crc32(ex.id.encode()) % 2
            else ("~emoji", add_neutral_emoji(ex.text, ex.id))
        )
        variants = [("~ascii", strip_diacritics(ex.text)), second] if ascii_copies else [second]
        for suffix, text in variants:
            if text != ex.text:
                extra.append(
                    Example(ex.id + suffix, ex.lang, text, ex.sentiment, ex.complaint, ex.category, ex.tags)
                )
    return [*examples, *extra]


def _second_problems(examples: Sequence[Example]) -> list[Example]:
    complaints: dict[str, list[Example]] = {}
    for ex in examples:
        if ex.complaint:
            complaints.setdefault(ex.lang, []).append(ex)
    out = []
    for ex in examples:
        if not ex.complaint or zlib.crc32(ex.id.encode()) % 3:
            continue
        pool = complaints[ex.lang]
        other = pool[zlib.crc32(f"{ex.id}~more".encode()) % len(pool)]
        if other.id != ex.id:
            text = f"{ex.text.rstrip()} {other.text.strip()}"
            out.append(Example(ex.id + "~more", ex.lang, text, ex.sentiment, True, None, ex.tags))
    return out


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
    fit, held = holdout(examples, config.calibration_share)
    ascii_copies = not config.spec.fold_diacritics
    data = augmented(fit, config.augment, ascii_copies, second_problem=config.second_problem)
    log(
        f"training on {len(data)} texts ({len(fit)} + augmented), {config.epochs} epochs; "
        f"{len(held)} held out for calibration"
    )
    if config.teacher is not None:
        soft = teacher_logits(config.teacher, encoder_dir, data, config, log)
        trainer.soft = (soft[0].to(trainer.device), soft[1].to(trainer.device))
    order = np.random.default_rng(config.seed)
    history = [trainer.epoch(epoch, data, order) for epoch in range(config.epochs)]
    adapters.scale_deltas(trainer.tuned, config.delta_share)
    heads, calibration = trainer.heads(), {}
    if held:
        logits = trainer.stance_logits(held)
        truth = np.array([trainer.stance_index[ex.stance] for ex in held])
        temperature = fit_temperature(logits, truth)
        calibration = {
            "held_out": len(held),
            "temperature": round(temperature, 4),
            "nll_before": round(_nll(logits, truth, 1.0), 4),
            "nll_after": round(_nll(logits, truth, temperature), 4),
        }
        log(f"calibration on {len(held)} held-out examples: {calibration}")
        heads = dataclasses.replace(heads, temperature=temperature)
    return TrainResult(heads, adapters.export_deltas(trainer.tuned), history, calibration)


def teacher_logits(
    trained: artifacts.Artifact, encoder_dir: Path, data: Sequence[Example], config: TrainConfig, log: Log
) -> tuple[torch.Tensor, torch.Tensor]:
    """The teacher's (stance, category) logits for every training text, computed once: the
    teacher is frozen, so its outputs do not change between epochs."""
    tokenizer = load_hf_tokenizer(encoder_dir)
    prepare = model_input(trained.spec, tokenizer.get_vocab())
    device = torch_device(config.device)
    model = FeatureModel(load_bert(encoder_dir, trained.spec, trained.deltas), trained.spec.feature_layers)
    model = model.eval().to(device)
    heads = trained.heads
    started, stance, category = time.monotonic(), [], []
    # Shortest first: less padding, and the order does not change the outputs.
    ranked = sorted(range(len(data)), key=lambda i: len(data[i].text))
    with torch.inference_mode():
        for start in range(0, len(ranked), 64):
            rows = ranked[start : start + 64]
            encoded = tokenizer(
                [prepare(data[i].text) for i in rows],
                padding=True,
                truncation=True,
                max_length=config.max_length,
                return_tensors="pt",
            )
            features = model(encoded["input_ids"].to(device), encoded["attention_mask"].to(device))
            features = features.cpu().numpy()
            stance.append(heads.stance_logits(features))
            category.append(features @ heads.category_weight.T + heads.category_bias)
            if (start // 64 + 1) % 50 == 0:
                log(f"teacher {trained.model_id}: {start + len(rows)}/{len(data)} texts")
    back = np.argsort(np.array(ranked))
    log(f"teacher {trained.model_id}: {len(data)} texts in {time.monotonic() - started:.0f} s")
    return (
        torch.from_numpy(np.concatenate(stance)[back].astype(np.float32)),
        torch.from_numpy(np.concatenate(category)[back].astype(np.float32)),
    )


def distillation_loss(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """KL divergence from the teacher's softened probabilities, scaled by T² so that its
    gradients stay comparable to the label loss's whatever the temperature."""
    return nn.functional.kl_div(
        nn.functional.log_softmax(student / temperature, dim=1),
        nn.functional.log_softmax(teacher / temperature, dim=1),
        reduction="batchmean",
        log_target=True,
    ) * (temperature**2)


def holdout(examples: Sequence[Example], share: float) -> tuple[list[Example], list[Example]]:
    """(training, held out): about ``share`` of the examples, picked by a hash of their id so that
    the choice does not depend on file order and is spread over languages and labels."""
    cut = round(share * 1000)
    held = [ex for ex in examples if zlib.crc32(ex.id.encode()) % 1000 < cut]
    kept = [ex for ex in examples if zlib.crc32(ex.id.encode()) % 1000 >= cut]
    return kept, held


def fit_temperature(logits: np.ndarray, truth: np.ndarray) -> float:
    """The temperature that minimises the negative log-likelihood of ``truth`` (a fine grid
    search between 0.25 and 4: one parameter, no optimiser needed)."""
    grid = np.exp(np.linspace(math.log(0.25), math.log(4.0), 801))
    losses = [_nll(logits, truth, float(t)) for t in grid]
    return float(grid[int(np.argmin(losses))])


def _nll(logits: np.ndarray, truth: np.ndarray, temperature: float) -> float:
    scaled = logits.astype(np.float64) / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    log_probs = scaled - np.log(np.exp(scaled).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(truth)), truth].mean())


def length_batches(
    permutation: np.ndarray, lengths: Sequence[int], size: int, chunk: int, order: np.random.Generator
) -> list[list[int]]:
    """Batches of ``size`` indices: the shuffled indices cut into chunks of ``chunk`` batches,
    each chunk sorted by length and cut into batches, then the batches shuffled."""
    span = size * max(chunk, 1)
    batches: list[list[int]] = []
    for start in range(0, len(permutation), span):
        part = sorted(permutation[start : start + span].tolist(), key=lambda i: lengths[i])
        batches += [part[i : i + size] for i in range(0, len(part), size)]
    return [batches[i] for i in order.permutation(len(batches))]


def warmup_share(total_steps: int) -> float:
    """The share of steps spent raising the learning rate: a tenth, but at least 1.5 steps
    (and at most three quarters, so that the annealing phase is never empty).

    ``OneCycleLR`` divides by the length of its warm-up phase, ``share * total_steps - 1``
    steps, so a tenth of exactly 10 steps (a small corpus) would divide by zero."""
    return min(0.75, max(0.1, 1.5 / max(total_steps, 1)))


class _Trainer:
    def __init__(self, encoder_dir: Path, config: TrainConfig, log: Log) -> None:
        self.config, self.log = config, log
        self.device = torch_device(config.device)
        spec = config.spec
        self.tokenizer = load_hf_tokenizer(encoder_dir)
        self.prepare = model_input(spec, self.tokenizer.get_vocab())
        bert = load_bert(encoder_dir, spec)
        self.tuned: Mapping[str, adapters.LoRALinear | adapters.FullDelta] = (
            adapters.attach_full(bert, config.first_adapted_layer)
            if config.full
            else adapters.attach(bert, config.first_adapted_layer, config.rank, 2.0 * config.rank)
        )
        self.delta_lr = config.full_lr if config.full else config.adapter_lr
        self.model = FeatureModel(bert, spec.feature_layers).to(self.device)
        dim = spec.feature_dim(int(bert.config.hidden_size))
        self.stance_head = nn.Linear(dim, len(STANCES)).to(self.device)
        self.category_head = nn.Linear(dim, len(CATEGORIES)).to(self.device)
        self.optimizer = torch.optim.AdamW(
            [
                {
                    "params": [p for m in self.tuned.values() for p in m.parameters() if p.requires_grad],
                    "lr": self.delta_lr,
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
        self.soft: tuple[torch.Tensor, torch.Tensor] | None = None

    def epoch(self, epoch: int, data: list[Example], order: np.random.Generator) -> dict[str, float]:
        size = self.config.batch_size
        steps = math.ceil(len(data) / size)
        if self.schedule is None:
            total_steps = self.config.epochs * steps
            self.schedule = torch.optim.lr_scheduler.OneCycleLR(
                self.optimizer,
                max_lr=[self.delta_lr, self.config.head_lr],
                total_steps=total_steps,
                pct_start=warmup_share(total_steps),
            )
        self.model.train()
        started, total = time.monotonic(), 0.0
        batches = length_batches(
            order.permutation(len(data)),
            [len(ex.text) for ex in data],
            size,
            self.config.length_chunk,
            order,
        )
        for step, batch in enumerate(batches):
            total += self.step([data[i] for i in batch], batch)
            if (step + 1) % 25 == 0 or step + 1 == steps:
                rate = (step + 1) * size / (time.monotonic() - started)
                self.log(
                    f"epoch {epoch + 1}/{self.config.epochs} step {step + 1}/{steps} "
                    f"loss {total / (step + 1):.3f} ({rate:.0f} texts/s)"
                )
        return {"epoch": epoch + 1, "loss": total / steps, "seconds": time.monotonic() - started}

    def step(self, batch: list[Example], rows: list[int]) -> float:
        c = self.config
        encoded = self.tokenizer(
            [self.prepare(ex.text) for ex in batch],
            padding=True,
            truncation=True,
            max_length=c.max_length,
            return_tensors="pt",
        )
        features = self.features(encoded) * c.feature_scale
        stances = torch.tensor([self.stance_index[ex.stance] for ex in batch], device=self.device)
        stance_logits = self.stance_head(features)
        loss = nn.functional.cross_entropy(stance_logits, stances, label_smoothing=c.label_smoothing)
        complaints = [i for i, ex in enumerate(batch) if ex.category is not None]
        if complaints:
            categories = torch.tensor(
                [self.category_index[batch[i].category] for i in complaints],  # type: ignore[index]
                device=self.device,
            )
            category_logits = self.category_head(features[complaints])
            loss = loss + nn.functional.cross_entropy(
                category_logits, categories, label_smoothing=c.label_smoothing
            )
        if self.soft is not None:
            soft_stance, soft_category = self.soft
            soft = distillation_loss(stance_logits, soft_stance[rows], c.distill_temperature)
            if complaints:
                taught = [rows[i] for i in complaints]
                soft = soft + distillation_loss(category_logits, soft_category[taught], c.distill_temperature)
            loss = (1.0 - c.distill_weight) * loss + c.distill_weight * soft
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        assert self.schedule is not None
        self.schedule.step()
        return float(loss.item())

    @torch.inference_mode()
    def stance_logits(self, examples: Sequence[Example]) -> np.ndarray:
        """The stance head's logits for ``examples``, dropout off."""
        c = self.config
        self.model.eval()
        out = []
        for start in range(0, len(examples), 64):
            encoded = self.tokenizer(
                [self.prepare(ex.text) for ex in examples[start : start + 64]],
                padding=True,
                truncation=True,
                max_length=c.max_length,
                return_tensors="pt",
            )
            features = self.features(encoded) * c.feature_scale
            out.append(self.stance_head(features).cpu().numpy())
        return np.concatenate(out)

    def features(self, encoded: Mapping[str, torch.Tensor]) -> torch.Tensor:
        ids, mask = encoded["input_ids"].to(self.device), encoded["attention_mask"].to(self.device)
        features: torch.Tensor = self.model(ids, mask)
        return features

    def heads(self) -> Heads:
        return _export_heads(self.stance_head, self.category_head, self.config.feature_scale)


def _export_heads(stance: nn.Linear, category: nn.Linear, scale: float) -> Heads:
    def weights(layer: nn.Linear) -> tuple[np.ndarray, np.ndarray]:
        return (
            (layer.weight.detach() * scale).cpu().numpy().astype(np.float32),
            layer.bias.detach().cpu().numpy().astype(np.float32),
        )

    sw, sb = weights(stance)
    cw, cb = weights(category)
    return Heads(sw, sb, cw, cb)

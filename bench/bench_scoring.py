"""Scoring speed, the speed-up over a plain per-text forward pass, label agreement, memory.

    .venv/bin/python bench/bench_scoring.py [--threads 2] [--texts 600]
    .venv/bin/python bench/bench_scoring.py --device cuda [--device-texts 20000]

Everything runs in one process and one run, on the held-out test split (realistic mention
lengths): the default configuration, plain fp32 PyTorch with the same model, and the baseline,
which feeds texts one at a time through ``transformers`` in fp32. Peak memory of the default
configuration alone, and of the same with the full 250k-piece vocabulary, is measured in fresh
child processes. Last, the roofline (``roofline.py``): ONNX Runtime's fp32 and int8 matrix
products on the encoder's own shapes, timed alone, and the share of them the scorer reaches.

``--device cuda`` measures the same trained model on a GPU instead (PyTorch, half precision):
texts/s at batch 64, 256 and 1,024 over the test split repeated to ``--device-texts`` texts,
tokenising and the heads included, and its labels against the model's fp32 on the CPU.
``--device cpu`` runs the same measurement on the CPU (fp32), which is how it is tested.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import roofline
from proc_memory import memory_mib

from models import artifact as artifacts
from models.corpus import Split, load_split
from models.e5.cache import ensure_encoder
from models.encoder import EncoderOptions, model_input
from models.errors import EncoderUnavailable
from models.loading import ScorerConfig, build_scorer
from models.quantization import Quantization
from models.runtime import Runtime
from models.scorer import Scorer
from models.scores import Score, ScoreRequest
from models.torch_encoder import FeatureModel, load_bert, load_hf_tokenizer
from streams.config.scoring import default_cache_dir

TARGET_RATE, TARGET_RATIO, TARGET_AGREEMENT = 400.0, 8.0, 0.98
TARGET_MEMORY_MIB = 1024
TARGET_DEVICE_RATE = 5000.0
DEVICE_BATCHES = (64, 256, 1024)
DEVICE_CALL_TOKENS = 4096
"""On a GPU one forward pass costs about as much as thousands of padded tokens, so batches are cut
into sub-batches of similar length far less eagerly than on the CPU (96). A first guess, to be
measured when a GPU is lent."""


PASSES = 3
"""Timed passes over the texts per figure; the median is printed. One pass at batch 64 is about a
second, and single passes of the same scorer differed by a fifth or more between runs."""


def rate(
    score: Callable[[list[str]], object], texts: Sequence[str], batch: int, passes: int = PASSES
) -> float:
    """Texts per second over the whole list, after one warm-up batch: the median of ``passes``
    passes."""
    score(list(texts[:batch]))
    return statistics.median(one_pass(score, texts, batch) for _ in range(passes))


def one_pass(score: Callable[[list[str]], object], texts: Sequence[str], batch: int) -> float:
    """Texts per second of one timed pass over the whole list."""
    started = time.perf_counter()
    for i in range(0, len(texts), batch):
        score(list(texts[i : i + batch]))
    return len(texts) / (time.perf_counter() - started)


PAIRED_ROUNDS = 5
"""Rounds of the paired speed-up: each times one pass of the default at batch 64 and one pass of
the baseline back to back, so that a slow spell of the machine (a neighbour on the host, a
frequency change) slows both halves of a round alike instead of only the half that ran then."""


def paired_ratios(
    fast: Callable[[list[str]], object],
    fast_texts: Sequence[str],
    slow: Callable[[list[str]], object],
    slow_texts: Sequence[str],
    batch: int,
    rounds: int = PAIRED_ROUNDS,
) -> list[float]:
    """The speed-up of ``fast`` (at ``batch``) over ``slow`` (one text at a time), once per round
    of alternating passes; the median is the figure to compare with a target."""
    fast(list(fast_texts[:batch]))
    slow(list(slow_texts[:1]))
    return [one_pass(fast, fast_texts, batch) / one_pass(slow, slow_texts, 1) for _ in range(rounds)]


def with_hints(scorer: Scorer, langs: dict[str, str]) -> Callable[[list[str]], list[Score]]:
    return lambda batch: scorer.score([ScoreRequest(t, langs[t]) for t in batch])


def baseline(cache_dir: Path) -> Callable[[list[str]], object]:
    """Plain transformers, fp32, one text per forward pass, same adapted model and heads."""
    trained = artifacts.load()
    encoder_dir = ensure_encoder(cache_dir)
    tokenizer = load_hf_tokenizer(encoder_dir)
    prepare = model_input(trained.spec, tokenizer.get_vocab())
    model = FeatureModel(load_bert(encoder_dir, trained.spec, trained.deltas), trained.spec.feature_layers)

    def run(batch: list[str]) -> object:
        out = []
        for text in batch:
            encoded = tokenizer(prepare(text), return_tensors="pt")
            with torch.no_grad():
                features = model(encoded["input_ids"], encoded["attention_mask"])
            out.append(trained.heads.predict(features.numpy()))
        return out

    return run


def agreement(a: Sequence[Score], b: Sequence[Score]) -> dict[str, float]:
    n = len(a)
    same = {
        "sentiment": sum(x.sentiment == y.sentiment for x, y in zip(a, b, strict=True)) / n,
        "complaint": sum(x.complaint == y.complaint for x, y in zip(a, b, strict=True)) / n,
        "category": sum(x.category == y.category for x, y in zip(a, b, strict=True)) / n,
    }
    same["all three"] = (
        sum(
            (x.sentiment, x.complaint, x.category) == (y.sentiment, y.complaint, y.category)
            for x, y in zip(a, b, strict=True)
        )
        / n
    )
    return same


def peak_memory(cache_dir: Path, *flags: str) -> float:
    """Peak RSS of a fresh process (``bench/scorer_memory.py``) that builds the scorer (caches
    warm) and scores the test split: none of this benchmark's own imports count."""
    script = Path(__file__).with_name("scorer_memory.py")
    done = subprocess.run(
        [sys.executable, str(script), "--cache-dir", str(cache_dir), *flags],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--texts", type=int, default=600, help="test-split texts to time (max 600)")
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir())
    parser.add_argument(
        "--before",
        type=Path,
        help="an earlier trained artifact folder (say a copy of models/weights from git) to time "
        "in the same run with the same configuration: the before-and-after of a retraining",
    )
    parser.add_argument(
        "--also",
        type=Quantization,
        choices=list(Quantization),
        help="also time and compare this quantization in the same run (a candidate default)",
    )
    parser.add_argument(
        "--also-fused-layer-norm",
        action="store_true",
        help="also time the default with ONNX Runtime's SkipLayerNormalization fusion on (the "
        "graph as it ran before 6 December 2026): the before-and-after of unfusing it",
    )
    parser.add_argument(
        "--device",
        help="measure the same model with PyTorch on this device instead (cuda, cuda:N; cpu to "
        "try the measurement itself), against the 5,000 texts/s GPU target",
    )
    parser.add_argument("--device-texts", type=int, default=20_000, help="texts timed with --device")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.device is not None:
        try:
            on_device(args.device, args.device_texts, args.threads, args.cache_dir)
        except EncoderUnavailable as error:
            raise SystemExit(f"bench_scoring: {error}") from None
        return
    examples = load_split(Split.TEST)
    random.Random(7).shuffle(examples)
    texts = [ex.text for ex in examples][: args.texts]
    langs = {ex.text: ex.lang for ex in examples}

    default = ScorerConfig(cache_dir=args.cache_dir)
    default = dataclasses.replace(default, encoder=dataclasses.replace(default.encoder, threads=args.threads))
    fp32 = dataclasses.replace(default, runtime=Runtime.TORCH, quantization=Quantization.NONE)
    scorers = {"default": build_scorer(default, print), "plain fp32": build_scorer(fp32, print)}
    if args.before is not None:
        scorers["before (--before, same config)"] = build_scorer(
            dataclasses.replace(default, artifact_dir=args.before), print
        )
    if args.also is not None:
        scorers[f"--also {args.also.value}"] = build_scorer(
            dataclasses.replace(default, quantization=args.also), print
        )
    if args.also_fused_layer_norm:
        fused = dataclasses.replace(default.encoder, fuse_skip_layer_norm=True)
        scorers["--also fused layer norm"] = build_scorer(dataclasses.replace(default, encoder=fused), print)
    tokens = scorers["default"].backend.encoder.tokenize(texts)  # type: ignore[attr-defined]
    print(
        f"\n{len(texts)} test-split mentions, {args.threads} threads, "
        f"mean {statistics.mean(len(t) for t in texts):.0f} characters, "
        f"{statistics.mean(len(x) for x in tokens):.1f} tokens"
    )
    print(f"default: {scorers['default'].model_id}\nfp32:    {scorers['plain fp32'].model_id}\n")

    rates: dict[str, dict[int, float]] = {}
    for name, scorer in scorers.items():
        rates[name] = {
            b: rate(with_hints(scorer, langs), texts if b > 1 else texts[:200], b) for b in (1, 16, 64)
        }
    per_text = baseline(args.cache_dir)
    base = rate(per_text, texts[:200], 1)
    paired = paired_ratios(with_hints(scorers["default"], langs), texts, per_text, texts[:200], 64)
    detect = rate(lambda batch: [scorers["default"].detector.decide(t) for t in batch], texts, 64)

    print(f"{'texts/s':<34}{'batch 1':>9}{'batch 16':>10}{'batch 64':>10}")
    for name, r in rates.items():
        print(f"{name:<34}{r[1]:>9.1f}{r[16]:>10.1f}{r[64]:>10.1f}")
    print(f"{'baseline (per-text transformers)':<34}{base:>9.1f}")
    print(f"{'language detection alone':<34}{'':>9}{'':>10}{detect:>10.1f}")
    ratio = statistics.median(paired)
    print(
        f"\ndefault at batch 64 / baseline: {rates['default'][64] / base:.2f}x from the figures above; "
        f"paired, {len(paired)} rounds of alternating passes: median {ratio:.2f}x "
        f"(rounds {', '.join(f'{r:.2f}' for r in paired)})\n"
        f"default / plain fp32 at batch 64: {rates['default'][64] / rates['plain fp32'][64]:.2f}x"
    )
    before = next((r for name, r in rates.items() if name.startswith("before")), None)
    if before is not None:
        print(f"default now / before at batch 64: {rates['default'][64] / before[64]:.2f}x")

    all_texts = [ex.text for ex in examples]
    requests = [ScoreRequest(ex.text, ex.lang) for ex in examples]
    reference = scorers["plain fp32"].score(requests)
    same = agreement(scorers["default"].score(requests), reference)
    shares = ", ".join(f"{k} {v:.2%}" for k, v in same.items())
    print(f"label agreement with plain fp32 on the test split ({len(all_texts)} texts): {shares}")
    for name in (n for n in scorers if n.startswith("--also")):
        kept = agreement(scorers[name].score(requests), reference)
        other = ", ".join(f"{k} {v:.2%}" for k, v in kept.items())
        speed = rates[name][64]
        print(
            f"{name}: agreement with plain fp32 {other}; at batch 64 {speed / base:.2f}x baseline, "
            f"{speed / rates['default'][64]:.2f}x default"
        )

    build_scorer(dataclasses.replace(default, prune_vocabulary=False), print)  # its cache, warm
    memory = {
        "default, languages detected": peak_memory(args.cache_dir),
        "default, language hints given": peak_memory(args.cache_dir, "--hints"),
        "full 250k vocabulary, languages detected": peak_memory(args.cache_dir, "--full-vocabulary"),
    }
    print(f"peak memory (RSS) of a fresh process scoring the {len(all_texts)} test-split texts:")
    for name, mib in memory.items():
        print(f"  {name:<42}{mib:>7.0f} MiB")
    print(f"this whole benchmark process: {memory_mib():.0f} MiB")

    encoder = json.loads((ensure_encoder(args.cache_dir) / "config.json").read_text())
    layers = artifacts.load(default.artifact_dir).spec.layers
    shapes = roofline.Shapes(encoder["hidden_size"], encoder["intermediate_size"], layers)
    mean_tokens = statistics.mean(len(x) for x in tokens)
    rows = round(64 * mean_tokens)
    print(
        f"\nroofline: each matrix product of a layer alone, {rows} rows "
        f"(64 texts of {mean_tokens:.1f} tokens)"
    )
    peak = roofline.measure(shapes, rows, args.threads)
    for name, (g32, g8) in peak.per_product.items():
        print(f"  {name:<9} fp32 {g32:7.1f} GFLOP/s   int8 {g8:7.1f} GOP/s")
    print(f"  encoder's mix: fp32 {peak.fp32_gflops:.1f} GFLOP/s, int8 {peak.int8_gops:.1f} GOP/s")
    reached = roofline.achieved_gflops(shapes, rates["default"][64], mean_tokens)
    print(
        f"  the default scorer at batch 64: {reached:.1f} G/s of those products "
        f"({shapes.flops_per_token / 1e6:.1f} MFLOP per real token): {reached / peak.int8_gops:.0%} of the "
        f"int8 peak, {reached / peak.fp32_gflops:.0%} of the fp32 peak"
    )

    checks = [
        (f"default at batch 64 >= {TARGET_RATE:.0f} texts/s", rates["default"][64] >= TARGET_RATE),
        (f"default >= {TARGET_RATIO}x baseline (paired median)", ratio >= TARGET_RATIO),
        (
            f"agreement >= {TARGET_AGREEMENT:.0%} on every label",
            min(same.values()) >= TARGET_AGREEMENT,
        ),
        (
            f"default scorer's peak memory <= {TARGET_MEMORY_MIB} MiB",
            memory["default, languages detected"] <= TARGET_MEMORY_MIB,
        ),
    ]
    print()
    for label, ok in checks:
        print(f"{'PASS' if ok else 'MISS'}  {label}")


def on_device(device: str, count: int, threads: int, cache_dir: Path) -> None:
    """The same trained model with PyTorch on ``device``, against fp32 on the CPU."""
    examples = load_split(Split.TEST)
    langs = {ex.text: ex.lang for ex in examples}
    texts = [examples[i % len(examples)].text for i in range(count)]
    fp32 = ScorerConfig(
        cache_dir=cache_dir,
        runtime=Runtime.TORCH,
        quantization=Quantization.NONE,
        encoder=EncoderOptions(threads=threads),
    )
    options = dataclasses.replace(
        fp32.encoder, device=device, max_batch=max(DEVICE_BATCHES), bucket_overhead_tokens=DEVICE_CALL_TOKENS
    )
    scorer = build_scorer(dataclasses.replace(fp32, encoder=options), print)
    name = torch.cuda.get_device_name(torch.device(device)) if device.startswith("cuda") else "the CPU"
    print(f"\n{count:,} texts (the test split repeated) on {device} ({name}), {scorer.model_id}")
    rates = {b: rate(with_hints(scorer, langs), texts, b, passes=1) for b in DEVICE_BATCHES}
    for batch, per_second in rates.items():
        print(f"  batch {batch:>5}: {per_second:9.1f} texts/s")
    requests = [ScoreRequest(ex.text, ex.lang) for ex in examples]
    reference = build_scorer(fp32, print).score(requests)
    same = agreement(scorer.score(requests), reference)
    shares = ", ".join(f"{k} {v:.2%}" for k, v in same.items())
    print(f"label agreement with fp32 on the CPU, test split ({len(requests)} texts): {shares}")
    best = max(rates, key=lambda b: rates[b])
    print()
    for label, ok in (
        (
            f"{device} >= {TARGET_DEVICE_RATE:,.0f} texts/s (best: batch {best})",
            rates[best] >= TARGET_DEVICE_RATE,
        ),
        (f"agreement >= {TARGET_AGREEMENT:.0%} on every label", min(same.values()) >= TARGET_AGREEMENT),
    ):
        print(f"{'PASS' if ok else 'MISS'}  {label}")


if __name__ == "__main__":
    main()

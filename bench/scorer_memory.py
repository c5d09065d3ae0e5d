"""Peak memory of one scoring process: build the scorer, score the test split, print VmHWM.

    .venv/bin/python bench/scorer_memory.py [--full-vocabulary] [--hints] [--cache-dir DIR]

Run as its own process (``bench/bench_scoring.py`` starts it once per configuration), so that
nothing the caller imported, torch above all, counts. The caches must be warm: a cold cache would
count the one-time ONNX export, which imports torch. Prints one line: the peak RSS in MiB.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from proc_memory import memory_mib

from models.corpus import Split, load_split
from models.loading import ScorerConfig, build_scorer
from models.scores import ScoreRequest
from streams.config.scoring import default_cache_dir


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir())
    parser.add_argument("--full-vocabulary", action="store_true", help="scoring.prune_vocabulary: false")
    parser.add_argument("--hints", action="store_true", help="give each text its language (no detection)")
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    config = ScorerConfig(cache_dir=args.cache_dir, prune_vocabulary=not args.full_vocabulary)
    scorer = build_scorer(config)
    requests = [ScoreRequest(ex.text, ex.lang if args.hints else None) for ex in load_split(Split.TEST)]
    for i in range(0, len(requests), args.batch):
        scorer.score(requests[i : i + args.batch])
    if "torch" in sys.modules:
        raise SystemExit("torch was imported: the measurement would not be of the ONNX path alone")
    print(f"{memory_mib():.0f}")


if __name__ == "__main__":
    main()

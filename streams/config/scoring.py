"""Settings -> the pure scorer configuration that ``models`` understands."""

from __future__ import annotations

from models.encoder import EncoderOptions
from models.language import DetectionOptions
from models.loading import ScorerConfig
from streams.config.settings import Settings


def scorer_config(settings: Settings) -> ScorerConfig:
    s = settings.scoring
    return ScorerConfig(
        cache_dir=s.cache_dir,
        runtime=s.runtime,
        quantization=s.quantization,
        encoder=EncoderOptions(
            threads=s.threads, max_length=s.max_length, max_batch=s.batch_size, lanes=s.lanes
        ),
        detection=DetectionOptions(
            candidates=s.detection_candidates, high_accuracy=s.detection_high_accuracy
        ),
        hf_model_dir=s.hf_model_dir,
        hf_label_map=tuple(sorted(s.hf_label_map.items())),
    )

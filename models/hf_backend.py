"""Plug-in backend: any local Hugging Face sequence-classification model for sentiment.

A brand that owns a fine-tuned model (an XLM-R, say) points Flarewatch at its folder and maps
the model's label names to ``negative`` / ``neutral`` / ``positive``. Complaint detection and
the category still come from the fallback backend (the default heads), and a complaint is
only reported when the plug-in model's sentiment is negative.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from models.backends import Backend
from models.batching import plan_buckets
from models.errors import BackendConfigError
from models.heads import Prediction, softmax
from models.labels import SENTIMENTS, Sentiment
from models.torch_encoder import quiet_transformers


class HFSequenceClassificationBackend:
    def __init__(
        self,
        model_dir: Path,
        label_map: Mapping[str, str],
        fallback: Backend,
        max_length: int = 256,
        max_batch: int = 32,
    ) -> None:
        if not (model_dir / "config.json").is_file():
            raise BackendConfigError(f"{model_dir} is not a Hugging Face model folder (no config.json)")
        quiet_transformers()
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
        self.model = AutoModelForSequenceClassification.from_pretrained(
            model_dir, local_files_only=True
        ).eval()
        self.targets = self._targets(label_map)
        self.fallback = fallback
        self.max_length = max_length
        self.max_batch = max_batch
        digest = hashlib.sha256((model_dir / "config.json").read_bytes()).hexdigest()[:8]
        self._model_id = f"hf:{model_dir.name}@{digest}+{fallback.model_id}"

    @property
    def model_id(self) -> str:
        return self._model_id

    def _targets(self, label_map: Mapping[str, str]) -> list[Sentiment]:
        id2label = {int(k): str(v) for k, v in self.model.config.id2label.items()}
        names = [id2label[i] for i in range(len(id2label))]
        unmapped = [n for n in names if n not in label_map]
        if unmapped:
            raise BackendConfigError(f"label map has no entry for model labels: {', '.join(unmapped)}")
        unknown = {v for v in label_map.values() if v not in {s.value for s in SENTIMENTS}}
        if unknown:
            raise BackendConfigError(
                "label map targets must be negative/neutral/positive, got: " + ", ".join(sorted(unknown))
            )
        return [Sentiment(label_map[n]) for n in names]

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        if not texts:
            return []
        probs = self._label_probabilities(texts)
        base = self.fallback.predict(texts)
        return [self._combine(p, b) for p, b in zip(probs, base, strict=True)]

    def _label_probabilities(self, texts: Sequence[str]) -> np.ndarray:
        encoded = self.tokenizer(list(texts), truncation=True, max_length=self.max_length)
        ids = encoded["input_ids"]
        out = np.zeros((len(texts), len(self.targets)), dtype=np.float32)
        for group in plan_buckets([len(x) for x in ids], self.max_batch, 64):
            batch = self.tokenizer.pad({"input_ids": [ids[i] for i in group]}, return_tensors="pt")
            with torch.inference_mode():
                logits = self.model(**batch).logits.float().numpy()
            out[group] = softmax(logits)
        return out

    def _combine(self, label_probs: np.ndarray, base: Prediction) -> Prediction:
        scores = {s.value: 0.0 for s in SENTIMENTS}
        for target, p in zip(self.targets, label_probs, strict=True):
            scores[target.value] += float(p)
        sentiment = Sentiment(max(scores, key=lambda k: scores[k]))
        complaint = base.complaint and sentiment is Sentiment.NEGATIVE
        return replace(
            base,
            sentiment=sentiment,
            sentiment_scores=scores,
            complaint=complaint,
            category=base.category if complaint else None,
        )

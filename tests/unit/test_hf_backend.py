from collections.abc import Sequence
from pathlib import Path

import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification

from models.e5.fileformat import read_e5
from models.e5.rebuild import build_tokenizer
from models.errors import BackendConfigError
from models.heads import Prediction
from models.hf_backend import HFSequenceClassificationBackend
from models.labels import Category, Sentiment
from tests import e5_files


class FixedBackend:
    """A real Backend that always predicts a delivery complaint."""

    model_id = "fixed:1"

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        return [
            Prediction(
                Sentiment.NEGATIVE,
                {"negative": 1.0, "neutral": 0.0, "positive": 0.0},
                True,
                0.9,
                Category.DELIVERY,
                {"delivery": 1.0},
            )
            for _ in texts
        ]


def save_classifier(folder: Path, winner: int) -> Path:
    source = folder / "tiny.bin"
    e5_files.write(source)
    config = BertConfig(
        vocab_size=32,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=3,
        id2label={0: "NEG", 1: "NEU", 2: "POS"},
        label2id={"NEG": 0, "NEU": 1, "POS": 2},
    )
    model = BertForSequenceClassification(config)
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.copy_(torch.tensor([0.0, 0.0, 0.0]))
        model.classifier.bias[winner] = 5.0
    out = folder / "brand-model"
    model.save_pretrained(out)
    build_tokenizer(read_e5(source)).save_pretrained(out)
    return out


MAPPING = {"NEG": "negative", "NEU": "neutral", "POS": "positive"}


def test_label_map_and_fallback(tmp_path: Path) -> None:
    backend = HFSequenceClassificationBackend(save_classifier(tmp_path, winner=2), MAPPING, FixedBackend())
    (pred,) = backend.predict(["abc"])
    assert pred.sentiment is Sentiment.POSITIVE
    assert pred.sentiment_scores["positive"] > 0.95
    # the fallback said complaint, but a positive text is not reported as one
    assert not pred.complaint and pred.category is None
    assert backend.model_id.startswith("hf:brand-model@") and backend.model_id.endswith("+fixed:1")


def test_negative_keeps_the_fallback_complaint(tmp_path: Path) -> None:
    backend = HFSequenceClassificationBackend(save_classifier(tmp_path, winner=0), MAPPING, FixedBackend())
    (pred,) = backend.predict(["ab c"])
    assert pred.sentiment is Sentiment.NEGATIVE and pred.complaint and pred.category is Category.DELIVERY


def test_two_labels_can_map_to_one_sentiment(tmp_path: Path) -> None:
    mapping = {"NEG": "negative", "NEU": "positive", "POS": "positive"}
    backend = HFSequenceClassificationBackend(save_classifier(tmp_path, winner=1), mapping, FixedBackend())
    (pred,) = backend.predict(["abc"])
    assert pred.sentiment_scores["neutral"] == 0.0
    assert pred.sentiment is Sentiment.POSITIVE


def test_configuration_errors(tmp_path: Path) -> None:
    folder = save_classifier(tmp_path, winner=0)
    with pytest.raises(BackendConfigError, match="no entry for model labels: POS"):
        HFSequenceClassificationBackend(folder, {"NEG": "negative", "NEU": "neutral"}, FixedBackend())
    with pytest.raises(BackendConfigError, match="got: angry"):
        HFSequenceClassificationBackend(folder, {**MAPPING, "NEG": "angry"}, FixedBackend())
    with pytest.raises(BackendConfigError, match="not a Hugging Face model folder"):
        HFSequenceClassificationBackend(tmp_path / "missing", MAPPING, FixedBackend())

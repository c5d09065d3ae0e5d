"""The texts that set the int8 runtimes' SmoothQuant scales travel with the weights, so that the
same weights quantize the same way after the corpus changes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from models import artifact as artifacts
from models.corpus import Split, load_split
from models.errors import ArtifactError
from models.loading import CALIBRATION_TEXTS, calibration_set, calibration_texts


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The packaged weights' two files, without the stored calibration texts."""
    for name in (artifacts.TENSORS, artifacts.METADATA):
        shutil.copy(artifacts.PACKAGED / name, tmp_path / name)
    return tmp_path


def test_the_packaged_weights_carry_their_calibration_texts() -> None:
    trained = artifacts.load()
    assert trained.int8_calibration is not None
    assert len(trained.int8_calibration) == CALIBRATION_TEXTS
    assert len(set(trained.int8_calibration)) == CALIBRATION_TEXTS
    source = json.loads((artifacts.PACKAGED / artifacts.INT8_CALIBRATION).read_text())["source"]
    assert source.startswith("training split ")


def test_stored_texts_are_used_whatever_the_training_split_holds(folder: Path) -> None:
    artifacts.save_int8_calibration(folder, ["Paczka nie dotarła.", "Köszönöm!", "Great app"], "a test")
    trained = artifacts.load(folder)
    calibration = calibration_set(trained, max_length=64)
    assert calibration.texts == ("Paczka nie dotarła.", "Köszönöm!", "Great app")
    assert calibration.digest() != calibration_set(artifacts.load(), max_length=64).digest()


def test_a_folder_without_them_falls_back_to_the_training_split(folder: Path) -> None:
    trained = artifacts.load(folder)
    assert trained.int8_calibration is None
    texts = calibration_set(trained, max_length=64).texts
    assert texts == calibration_texts(load_split(Split.TRAIN))
    assert len(texts) == CALIBRATION_TEXTS


@pytest.mark.parametrize(
    "content",
    ["not json", '{"source": "x"}', '{"texts": []}', '{"texts": ["ok", ""]}', '{"texts": "abc"}'],
)
def test_a_broken_calibration_file_names_itself(folder: Path, content: str) -> None:
    (folder / artifacts.INT8_CALIBRATION).write_text(content)
    with pytest.raises(ArtifactError, match=artifacts.INT8_CALIBRATION):
        artifacts.load(folder)


def test_empty_texts_are_refused_when_saving(folder: Path) -> None:
    with pytest.raises(ValueError):
        artifacts.save_int8_calibration(folder, [], "a test")
    assert not (folder / artifacts.INT8_CALIBRATION).exists()

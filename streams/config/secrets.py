"""Tokens and secrets: read from an environment variable or a mounted file when a collector
starts, never from the YAML, and never put into a log line, an error or a metric."""

from __future__ import annotations

import os
from pathlib import Path


class SecretError(ValueError):
    """A secret that is not where the configuration says; names the place, never a value."""


def read_secret(env: str | None, file: Path | str | None, what: str) -> str:
    """The secret ``what`` (for messages, e.g. "page token of zakupowo") from ``file`` when
    given, else from the environment variable ``env``; surrounding whitespace is dropped."""
    if file is not None:
        try:
            value = Path(file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SecretError(f"{what}: cannot read {file}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise SecretError(f"{what}: {file} is not UTF-8 text") from None
        if not value:
            raise SecretError(f"{what}: {file} is empty")
        return value
    if env is None:
        raise SecretError(f"{what}: not configured (give an environment variable or a file)")
    value = os.environ.get(env, "").strip()
    if not value:
        raise SecretError(f"{what}: environment variable {env} is not set")
    return value

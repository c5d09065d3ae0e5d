"""Tokens and secrets: read from an environment variable or a mounted file when a collector
starts, never from the YAML, and never put into a log line, an error or a metric."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic_core import PydanticCustomError


class SecretError(ValueError):
    """A secret that is not where the configuration says; names the place, never a value."""


def read_secret(env: str | None, file: Path | str | None, what: str) -> str:
    """The secret ``what`` (for messages, e.g. "page token of zakupowo") from ``file`` when
    given, else from the environment variable ``env``; surrounding whitespace is dropped."""
    if file is not None:
        return read_secret_file(file, what)
    if env is None:
        raise SecretError(f"{what}: not configured (give an environment variable or a file)")
    value = os.environ.get(env, "").strip()
    if not value:
        raise SecretError(f"{what}: environment variable {env} is not set")
    return value


def read_secret_file(file: Path | str, what: str) -> str:
    """The text of ``file`` without surrounding whitespace; raises :class:`SecretError` naming
    ``what`` and the path (never the contents) when it is unreadable, empty or not UTF-8."""
    try:
        value = Path(file).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SecretError(f"{what}: cannot read {file}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise SecretError(f"{what}: {file} is not UTF-8 text") from None
    if not value:
        raise SecretError(f"{what}: {file} is empty")
    return value


def fill_from_files(data: Any, fields: Iterable[str]) -> Any:
    """For a settings section's ``mode="before"`` validator: each ``<field>_file`` given fills
    ``<field>`` with that file's text, read now, once. The ``_file`` setting stays, so a config
    written for a child process can name the file instead of the value.

    Giving a value and a different file is an error; the same value (a section validated again
    from its own dump) is not. Errors are one line naming the setting and the path, and are
    raised as pydantic errors so that ``load_settings`` lists them like any other problem."""
    if not isinstance(data, dict):
        return data
    filled = dict(data)
    for name in fields:
        path = data.get(f"{name}_file")
        if path is None:
            continue
        try:
            value = read_secret_file(path, f"{name}_file")
        except SecretError as exc:
            raise PydanticCustomError("secret_file", "{problem}", {"problem": str(exc)}) from None
        given = data.get(name)
        if isinstance(given, SecretStr):
            given = given.get_secret_value()
        if given is not None and given != value:
            raise PydanticCustomError(
                "secret_file", "{problem}", {"problem": f"{name} and {name}_file are both given: use one"}
            )
        filled[name] = value
    return filled

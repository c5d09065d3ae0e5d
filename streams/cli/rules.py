"""``flarewatch rules test``: try a tracking rule on texts before giving it to a brand."""

from __future__ import annotations

import json
import sys
from typing import IO

import click

from models.tracking.grammar import RuleSyntaxError
from models.tracking.matcher import compile_rule


class InputError(ValueError):
    """A line of input that is neither text nor a JSON object with a ``text`` string."""


@click.group()
def rules() -> None:
    """Tracking rules: Boolean queries that pick a brand's mentions."""


@rules.command("test")
@click.argument("rule")
@click.argument("file", required=False, default="-", type=click.File("r", encoding="utf-8"))
@click.pass_context
def test(ctx: click.Context, rule: str, file: IO[str]) -> None:
    """Which texts RULE matches.

    \b
    RULE: words, "exact phrases", trailing wildcards (zamów*), AND, OR, NOT, parentheses,
    A NEAR/n B (at most n words apart, either order); adjacent terms mean AND. Case and
    diacritics are ignored (ł = l, ő = o).
    FILE (default stdin): one text per line, or JSON Lines with a "text" field (a line that
    starts with `{` is JSON); blank lines are skipped.

    One JSON object per text on stdout, in order: {"text": ..., "match": true|false}. A rule
    that does not parse, or a bad line: one line on stderr, exit code 2."""
    try:
        compiled = compile_rule(rule)
    except RuleSyntaxError as exc:
        click.echo(f"flarewatch: error: rule: {exc}", err=True)
        ctx.exit(2)
    if file is sys.stdin and sys.stdin.isatty():
        raise click.UsageError("give a FILE of texts, or pipe them to stdin")
    number = 0
    try:
        for line in file:
            number += 1
            text = read_text(line)
            if text is not None:
                click.echo(json.dumps({"text": text, "match": compiled.matches(text)}, ensure_ascii=False))
    except InputError as exc:
        click.echo(f"flarewatch: error: line {number}: {exc}", err=True)
        ctx.exit(2)
    except UnicodeDecodeError:
        click.echo(f"flarewatch: error: after line {number}: not UTF-8 text", err=True)
        ctx.exit(2)


def read_text(line: str) -> str | None:
    """The text of one input line, None for a blank line; raises :class:`InputError`."""
    stripped = line.strip()
    if not stripped:
        return None
    if not stripped.startswith("{"):
        return line.rstrip("\r\n")
    try:
        record = json.loads(stripped)
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc}") from None
    text = record.get("text") if isinstance(record, dict) else None
    if not isinstance(text, str):
        raise InputError('no "text" string')
    return text

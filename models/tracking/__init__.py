"""Tracking rules: Boolean queries per brand, matched in the stream and compiled for search."""

from models.tracking.elastic import to_elasticsearch
from models.tracking.grammar import RuleSyntaxError, parse
from models.tracking.matcher import Rule, RuleSet, compile_rule
from models.tracking.words import TextWords, fold, words

__all__ = [
    "Rule",
    "RuleSet",
    "RuleSyntaxError",
    "TextWords",
    "compile_rule",
    "fold",
    "parse",
    "to_elasticsearch",
    "words",
]

"""Behavioural tests of the scorer in the style of CheckList (Ribeiro et al., ACL 2020).

``cases/<lang>.jsonl`` holds the minimum-functionality cases, written apart from the training
corpus: per capability (sarcasm, contrast, polite questions...) and language, a text and the label
it must get. Invariance and directional cases are derived from them by perturbations
(:mod:`models.checklist.perturb`); :mod:`models.checklist.suite` runs everything against any
scoring function and reports failure rates per capability and language.
"""

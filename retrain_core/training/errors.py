"""Why training could not produce a model: one error every training step raises."""

from __future__ import annotations


class TrainingError(RuntimeError):
    """Training could not produce a model; the message says why, for people."""

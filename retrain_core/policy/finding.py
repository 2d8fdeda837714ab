"""One problem in a policy, at its key path, and the small helpers its messages share.

Every check of a policy (pydantic's, the semantic checks, a trigger kind's own) reports a
`Finding`; the loader turns its key path into `file:line`.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any, NamedTuple

from retrain_core.policy.yamlio import Path_


class Finding(NamedTuple):
    """One problem in a policy: where (key path in the YAML document) and what."""

    path: Path_
    message: str


def did_you_mean(word: str, known: Sequence[str]) -> str:
    """` (did you mean 'x'?)` when a known word is close to `word`, else an empty string."""
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def describe(value: Any) -> str:
    """A short rendering of a YAML value for messages: 'text', 3, true, a mapping, a list."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "an empty value"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..." + ("'" if text[0] in "'\"" else "")

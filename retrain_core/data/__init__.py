"""Data windows: read a policy's sources, cut the reference and current windows, join labels.

Importing this package is cheap: pandas, pyarrow, fsspec and SQLAlchemy load inside the functions
that use them. The monitor's sequence is::

    columns = required_columns(policy)
    reference = load_reference(policy.data.reference, columns, root, policy.data.timestamp)
    current = load_window(policy.data.current, columns, root, policy.data.timestamp, watermark)
    labels = load_labels(policy.data.labels, policy.model.target, root)   # when the policy has them
    frame = join_labels(current.frame, labels, policy.data.labels.join_on, policy.model.target)
    problems = check_columns(reference.frame, policy, "reference") + check_columns(frame, policy)

`SourceUnavailable` fails the task (after retries); `BadData` and a non-empty problems list block
the decision; `DataConfigError` is a policy mistake. Each batch file is judged on its own and set
aside (quarantined) when it cannot be judged. See `errors`, `batches`, `watermark` and `windows`;
each kind of source is one module of `sources` (`readers` reads any of them).

The names below load on first use, so the source-kind modules (found while the policy models are
built) can import this package's modules without loading the policy models half-built.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from retrain_core.data.errors import (
    BadData,
    DataConfigError,
    DataError,
    NoFiles,
    SourceUnavailable,
)

if TYPE_CHECKING:
    from retrain_core.data.labels import join_labels, load_labels
    from retrain_core.data.problems import check_columns, expected_columns, required_columns
    from retrain_core.data.readers import read_source
    from retrain_core.data.watermark import Watermark
    from retrain_core.data.windows import LoadedWindow, load_reference, load_window

_HOMES = {
    "join_labels": "labels",
    "load_labels": "labels",
    "check_columns": "problems",
    "expected_columns": "problems",
    "required_columns": "problems",
    "read_source": "readers",
    "Watermark": "watermark",
    "LoadedWindow": "windows",
    "load_reference": "windows",
    "load_window": "windows",
}


def __getattr__(name: str) -> Any:
    """The public names that load on first use (see the module docstring)."""
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)


__all__ = [
    "BadData",
    "DataConfigError",
    "DataError",
    "LoadedWindow",
    "NoFiles",
    "SourceUnavailable",
    "Watermark",
    "check_columns",
    "expected_columns",
    "join_labels",
    "load_labels",
    "load_reference",
    "load_window",
    "read_source",
    "required_columns",
]

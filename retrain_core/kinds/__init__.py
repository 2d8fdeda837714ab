"""Trigger kinds: one module each, registered in `retrain_core.kinds.registry`.

Importing this package registers the built-in kinds, in the order the policy docs list them. A
kind defined elsewhere (a plug-in, a test) calls `register` itself.
"""

from __future__ import annotations

from retrain_core.kinds import (
    drift,
    estimated_performance,
    freshness,
    max_age,
    new_data,
    performance,
    volume,
)
from retrain_core.kinds.registry import (
    KINDS,
    CheckKind,
    Context,
    kind_of,
    register,
    registered,
    unregister,
)

BUILT_IN = (
    drift.KIND,
    performance.KIND,
    estimated_performance.KIND,
    volume.KIND,
    freshness.KIND,
    new_data.KIND,
    max_age.KIND,
)
for _kind in BUILT_IN:
    if _kind.key not in KINDS:
        register(_kind)

__all__ = ["KINDS", "CheckKind", "Context", "kind_of", "register", "registered", "unregister"]

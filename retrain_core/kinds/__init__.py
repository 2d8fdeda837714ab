"""Trigger kinds: one module each, defining `KIND` (a `retrain_core.policy.registry.CheckKind`).

The registry finds every module here that defines `KIND`; nothing lists them. A kind defined
in an outside package registers through the `retrain.kinds` entry-point group.
"""

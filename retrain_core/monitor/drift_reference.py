"""What drift compares with: the champion's training sample or the reference, and its profile.

`follow_champion` swaps the reference for the champion's stored sample
(`data.drift_reference: champion`); `reference_profile` brings the profile drift bins against,
stored in MLflow once per content.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from retrain_core.kinds.context import Champion
from retrain_core.monitor.windows import Loaded
from retrain_core.policy.schema import Policy

if TYPE_CHECKING:
    from retrain_core.store.registry import Registry


def follow_champion(
    registry: Registry, policy: Policy, data: Loaded, champion: Champion | None
) -> Loaded:
    """With `data.drift_reference: champion`, drift compares with the champion's training sample.

    The sample's profile stored with the version comes along: drift bins the current window
    against it (a version stored before profiles has none, and the checks profile the sample).
    """
    if policy.data.drift_reference != "champion" or champion is None or not champion.run_id:
        return data
    sample = registry.load_reference(champion.run_id)
    if sample is None or sample.empty:  # a version trained before samples were stored
        return data
    profile = registry.load_profile(champion.run_id)
    return replace(data, windows=replace(data.windows, reference=sample, profile=profile))


def reference_profile(registry: Registry, policy: Policy, data: Loaded, now: datetime) -> Loaded:
    """The drift reference's profile, when drift will bin against it and none came with it.

    A reference without a stored profile (the fixed file, or a champion's sample stored without
    one) is profiled once per content: the profile is stored in MLflow under its content key, and
    every later check with the same reference loads it instead of profiling again (a changed file
    has another key, so it gets a profile of its own). A process keeps it too (`cached`). A window
    judged from batch profiles (`Loaded.plan`) always needs it: its batches are counted over it.
    """
    from retrain_core.checks.drift import binned
    from retrain_core.checks.profile import build_profile, cached, content_key, remember
    from retrain_core.kinds.drift import DriftTrigger

    w, features = data.windows, policy.model.features
    numeric, categorical = list(features.numeric), list(features.categorical)
    if w.profile is not None and w.profile.covers(numeric, categorical):
        return data
    if w.problems or not w.new_data or w.reference.empty:
        return data  # the checks stop at the data's problems or at "no new data": no drift
    if data.plan is None:  # a window judged from batch profiles always bins against one
        if w.current.empty:
            return data
        drift = [d for rule in policy.triggers.evaluated if (d := rule.get(DriftTrigger))]
        if not any(binned(d.method, len(w.reference), len(w.current)) for d in drift):
            return data
    key = content_key(w.reference, numeric, categorical)
    profile = cached(key)
    if profile is None:
        profile = registry.stored_profile(policy.name, key)
        if profile is None:
            profile = build_profile(w.reference, numeric, categorical, key)
            registry.store_profile(policy.name, profile, now=now)
        remember(profile)
    return replace(data, windows=replace(w, profile=profile))

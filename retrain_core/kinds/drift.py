"""The `drift` trigger: distribution drift between the reference and the current window."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from retrain_core.base.outcome import CheckOutcome, Status
from retrain_core.kinds.context import Context
from retrain_core.policy.base import DriftCorrection, DriftMethod, Strict
from retrain_core.policy.registry import CheckKind

if TYPE_CHECKING:
    import pandas as pd

    from retrain_core.policy.finding import Finding
    from retrain_core.policy.yamlio import Path_


class DriftTrigger(Strict):
    """Distribution drift between the reference and the current window (alibi-detect)."""

    method: DriftMethod = Field(
        "ks",
        description="Test: ks (Kolmogorov-Smirnov) or cvm (Cramer-von Mises) for numeric features "
        "with chi-square for categorical ones; tabular (alibi-detect TabularDrift, KS and "
        "chi-square); psi (Population Stability Index, no p-value).",
    )
    p_value: float = Field(
        0.05, gt=0, lt=1, description="Significance level before the multiple-testing correction."
    )
    correction: DriftCorrection = Field(
        "bonferroni",
        description="Multiple-testing correction across features: bonferroni, fdr "
        "(Benjamini-Hochberg) or none.",
    )
    min_effect: float = Field(
        0.1,
        ge=0,
        description="Smallest effect that counts as drift: the KS statistic D for numeric "
        "features, Cramer's V for categorical ones, the PSI value for method psi. A feature "
        "drifts only when it is significant AND its effect reaches this value.",
    )
    min_share: float = Field(
        0.2, gt=0, le=1, description="Fire when this share of the monitored features drifted."
    )
    features: list[str] | None = Field(
        None, description="Monitor only these features (default: every feature of the model)."
    )
    time_like: Literal["exclude", "keep"] = Field(
        "exclude",
        description="Numeric features that only move one way in time in the reference (dates, "
        "counters) drift on every check against any past data: exclude (default) reports and "
        "skips them; keep tests them anyway.",
    )


def evaluate(d: DriftTrigger, ctx: Context) -> list[CheckOutcome]:
    """Drift on the monitored features (all of the model's, unless the rule names some): on the
    window's merged batch profile when it has one (the scores of binning its rows), else on its
    rows."""
    from retrain_core.checks.drift import detect_drift

    policy, w = ctx.policy, ctx.windows
    wanted = set(d.features or policy.model.features.all)
    numeric = [f for f in policy.model.features.numeric if f in wanted]
    categorical = [f for f in policy.model.features.categorical if f in wanted]
    excluded: list[CheckOutcome] = []
    if d.time_like == "exclude":
        moving = time_like_features(w.reference, numeric, policy.data.timestamp)
        numeric = [f for f in numeric if f not in moving]
        if moving:
            reason = (
                f"not tested for drift: {', '.join(moving)} only move one way in time in the "
                "reference (dates, counters drift against any past data); set time_like: keep "
                "to test them"
            )
            excluded.append(CheckOutcome("drift.time_like", Status.PASS, reason, len(moving)))
    if w.current_profile is not None and w.profile is not None and d.method != "cvm":
        from retrain_core.checks.drift import detect_drift_profiled

        return excluded + detect_drift_profiled(
            w.profile, w.current_profile, numeric, categorical,
            method=d.method, p_value=d.p_value, correction=d.correction,
            min_effect=d.min_effect, min_share=d.min_share, share_check=ctx.rule_id,
        )  # fmt: skip
    return excluded + detect_drift(
        w.reference, w.current, numeric, categorical,
        method=d.method, p_value=d.p_value, correction=d.correction,
        min_effect=d.min_effect, min_share=d.min_share, profile=w.profile,
        share_check=ctx.rule_id,
    )  # fmt: skip


def time_like_features(
    reference: pd.DataFrame, numeric: list[str], timestamp: str | None, min_rows: int = 20
) -> list[str]:
    """Numeric features that never go back in time in the reference (and take several values)."""
    import pandas as pd

    if len(reference) < min_rows:
        return []
    frame = reference
    if timestamp is not None and timestamp in reference.columns:
        frame = reference.sort_values(timestamp, kind="stable")
    moving = []
    for name in numeric:
        if name not in frame.columns:
            continue
        values = pd.to_numeric(frame[name], errors="coerce").dropna().to_numpy()
        if len(values) < min_rows or len(set(values[:1000].tolist())) < 2:
            continue
        steps = values[1:] - values[:-1]
        if (steps >= 0).all() or (steps <= 0).all():
            moving.append(name)
    return moving


def findings(drift: Any, data: dict[str, Any], path: Path_) -> list[Finding]:
    """Drift features the model lacks; a min_effect above 1 where the effect is at most 1."""
    from retrain_core.policy.finding import Finding, did_you_mean
    from retrain_core.policy.semantics import get, is_number, strings

    if not isinstance(drift, dict):
        return []
    known = [
        n
        for kind in ("numeric", "categorical")
        for _, n in strings(get(data, "model", "features", kind))
    ]
    found = []
    names = list(dict.fromkeys(known))
    for index, name in strings(drift.get("features") if known else None):
        if name not in names:
            message = f"{name!r} is not a feature of the model{did_you_mean(name, names)}"
            found.append(Finding((*path, "features", index), message))
    effect = drift.get("min_effect")
    too_big = isinstance(effect, int | float) and is_number(effect) and effect > 1
    if drift.get("method", "ks") != "psi" and too_big:
        message = "must be <= 1 (the KS statistic and Cramer's V are at most 1)"
        found.append(Finding((*path, "min_effect"), f"{message}, got {effect}"))
    return found


KIND = CheckKind(
    key="drift",
    model=DriftTrigger,
    description="Feature drift (alibi-detect).",
    evaluate=evaluate,
    outcome="share",
    label_blind=True,
    findings=findings,
    order=10,
    example={"method": "ks", "p_value": 0.01},
)

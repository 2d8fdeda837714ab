"""Drift checks on generated, seeded data with the real alibi-detect detectors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retrain_core.base.outcome import CheckOutcome, Status
from retrain_core.checks.drift import _feature_threshold, detect_drift
from retrain_core.checks.exact import _Feature, _score_one

NUMERIC = [f"x{i}" for i in range(25)]


def _windows(
    n: int, shifted: tuple[str, ...] = (), shift: float = 0.5, seed: int = 7
) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    reference = pd.DataFrame(rng.normal(size=(n, len(NUMERIC))), columns=NUMERIC)
    current = pd.DataFrame(rng.normal(size=(n, len(NUMERIC))), columns=NUMERIC)
    for column in shifted:
        current[column] += shift
    return reference, current


def _by_check(outcomes: list[CheckOutcome]) -> dict[str, CheckOutcome]:
    return {o.check: o for o in outcomes}


def _drifted(outcomes: list[CheckOutcome]) -> set[str]:
    return {o.check.split(".", 2)[2] for o in outcomes if o.failed and o.check != "drift.share"}


def test_unshifted_features_do_not_drift_with_bonferroni() -> None:
    reference, current = _windows(10_000)
    outcomes = detect_drift(reference, current, NUMERIC, [], method="ks")
    assert len(outcomes) == len(NUMERIC) + 1
    assert _drifted(outcomes) == set()
    share = _by_check(outcomes)["drift.share"]
    assert share.status is Status.PASS and share.observed == 0.0
    assert "0.002 (bonferroni)" in _by_check(outcomes)["drift.ks.x0"].reason
    # Uncorrected, with no effect floor, the same noise flags features: correction is what stops it.
    uncorrected = detect_drift(reference, current, NUMERIC, [], correction="none", min_effect=0.0)
    assert len(_drifted(uncorrected)) >= 1
    assert "(uncorrected)" in uncorrected[0].reason


def test_clear_shift_in_three_features_names_exactly_those() -> None:
    reference, current = _windows(10_000, shifted=("x3", "x7", "x11"))
    outcomes = detect_drift(reference, current, NUMERIC, [], method="ks", min_share=0.1)
    assert _drifted(outcomes) == {"x3", "x7", "x11"}
    x3 = _by_check(outcomes)["drift.ks.x3"]
    assert x3.observed is not None and 0.15 < x3.observed < 0.25
    assert x3.threshold == 0.1 and "and D=0.2" in x3.reason
    share = _by_check(outcomes)["drift.share"]
    assert share.status is Status.FAIL
    assert share.observed == pytest.approx(3 / 25)
    assert "(x3, x7, x11)" in share.reason


def test_share_below_min_share_passes_but_still_names_features() -> None:
    reference, current = _windows(10_000, shifted=("x3",))
    share = _by_check(detect_drift(reference, current, NUMERIC, [], min_share=0.2))["drift.share"]
    assert share.status is Status.PASS
    assert "1 of 25 features drifted (x3)" in share.reason


def test_million_rows_tiny_shift_is_significant_but_too_small_while_clear_shift_drifts() -> None:
    rng = np.random.default_rng(11)
    n = 1_000_000
    reference = pd.DataFrame({"tiny": rng.normal(size=n), "clear": rng.normal(size=n)})
    current = pd.DataFrame({"tiny": rng.normal(0.0125, size=n), "clear": rng.normal(0.5, size=n)})
    outcomes = _by_check(detect_drift(reference, current, ["tiny", "clear"], [], min_effect=0.1))
    tiny, clear = outcomes["drift.ks.tiny"], outcomes["drift.ks.clear"]
    assert tiny.status is Status.PASS
    assert tiny.observed is not None and 0.002 < tiny.observed < 0.01
    assert "significant, too small to matter" in tiny.reason
    assert clear.status is Status.FAIL
    assert clear.observed is not None and 0.15 < clear.observed < 0.25


def test_categorical_shift_detected_with_chi2_and_cramers_v() -> None:
    rng = np.random.default_rng(3)
    n = 5_000
    reference = pd.DataFrame(
        {
            "contract": rng.choice(["monthly", "yearly", "two-year"], n, p=[0.5, 0.3, 0.2]),
            "payment": rng.choice(["card", "bank"], n),
        }
    )
    current = pd.DataFrame(
        {
            "contract": rng.choice(["monthly", "yearly", "two-year"], n, p=[0.3, 0.3, 0.4]),
            "payment": rng.choice(["card", "bank"], n),
        }
    )
    outcomes = _by_check(detect_drift(reference, current, [], ["contract", "payment"], "chi2"))
    contract = outcomes["drift.chi2.contract"]
    assert contract.status is Status.FAIL and "V=" in contract.reason
    assert contract.observed is not None and contract.observed > 0.15
    assert outcomes["drift.chi2.payment"].status is Status.PASS


def test_categories_new_in_the_current_window_and_nulls_are_handled() -> None:
    rng = np.random.default_rng(4)
    reference = pd.DataFrame({"plan": rng.choice(["a", "b"], 4_000)})
    current = pd.DataFrame({"plan": rng.choice(["a", "b", "c"], 4_000)})
    current.loc[:99, "plan"] = None
    outcome = detect_drift(reference, current, [], ["plan"], method="ks")[0]
    assert outcome.check == "drift.ks.plan" and outcome.status is Status.FAIL


def test_numeric_features_under_chi2_are_binned_by_reference_deciles() -> None:
    reference, current = _windows(5_000, shifted=("x1",))
    outcomes = _by_check(detect_drift(reference, current, ["x0", "x1"], [], method="chi2"))
    assert outcomes["drift.chi2.x0"].status is Status.PASS
    assert outcomes["drift.chi2.x1"].status is Status.FAIL


def test_psi_flags_shifted_numeric_and_categorical_features_without_p_values() -> None:
    reference, current = _windows(5_000, shifted=("x1",))
    rng = np.random.default_rng(5)
    reference["plan"] = rng.choice(["a", "b", "c"], 5_000, p=[0.6, 0.3, 0.1])
    current["plan"] = rng.choice(["a", "b", "c"], 5_000, p=[0.3, 0.3, 0.4])
    outcomes = _by_check(detect_drift(reference, current, ["x0", "x1"], ["plan"], method="psi"))
    assert outcomes["drift.psi.x0"].status is Status.PASS
    assert (
        outcomes["drift.psi.x0"].observed is not None and outcomes["drift.psi.x0"].observed < 0.05
    )
    assert outcomes["drift.psi.x1"].status is Status.FAIL
    assert outcomes["drift.psi.x1"].reason.startswith("PSI=")
    assert outcomes["drift.psi.plan"].status is Status.FAIL
    assert "p=" not in outcomes["drift.psi.plan"].reason


@pytest.mark.parametrize("method", ["cvm", "tabular"])
def test_cvm_and_tabular_detect_the_shift_and_ignore_noise(method: str) -> None:
    reference, current = _windows(3_000, shifted=("x2",))
    rng = np.random.default_rng(6)
    reference["plan"] = rng.choice(["a", "b"], 3_000, p=[0.5, 0.5])
    current["plan"] = rng.choice(["a", "b"], 3_000, p=[0.2, 0.8])
    current.loc[:49, "x4"] = np.nan  # a feature with NaNs is tested on its own
    columns = ["x0", "x2", "x4"]
    outcomes = detect_drift(reference, current, columns, ["plan"], method=method)
    assert _drifted(outcomes) == {"x2", "plan"}
    assert "D=" in _by_check(outcomes)[f"drift.{method}.x2"].reason


def test_fdr_correction() -> None:
    reference, current = _windows(5_000, shifted=("x3", "x5"))
    outcomes = detect_drift(reference, current, NUMERIC, [], correction="fdr")
    assert _drifted(outcomes) == {"x3", "x5"}
    assert "(fdr)" in _by_check(outcomes)["drift.ks.x3"].reason


@pytest.mark.parametrize("correction", ["bonferroni", "fdr"])
@pytest.mark.parametrize("shifted", [(), ("x1", "x2")])
def test_per_feature_scores_and_threshold_match_alibis_multivariate_detector(
    correction: str, shifted: tuple[str, ...]
) -> None:
    from alibi_detect.cd import KSDrift

    reference, current = _windows(2_000, shifted=shifted, shift=0.2)
    ref, cur = reference.to_numpy(), current.to_numpy()
    expected = KSDrift(ref, p_val=0.05, correction=correction).predict(cur, drift_type="batch")
    features = [_Feature(c, ref[:, j], cur[:, j], None) for j, c in enumerate(NUMERIC)]
    p_values = np.array([_score_one(f, "ks", 0.05).p_value for f in features], dtype=float)
    np.testing.assert_allclose(p_values, expected["data"]["p_val"], rtol=1e-5)
    threshold = _feature_threshold(p_values, 0.05, correction)
    assert threshold == pytest.approx(float(np.min(expected["data"]["threshold"])))


def test_empty_window_gives_error_outcomes_not_exceptions() -> None:
    reference, current = _windows(100)
    outcomes = detect_drift(reference, current.iloc[0:0], ["x0", "x1"], [])
    assert [o.status for o in outcomes] == [Status.ERROR] * 3
    assert all("current window is empty" in o.reason for o in outcomes)


def test_missing_and_all_null_features_are_errors_while_others_are_tested() -> None:
    reference, current = _windows(2_000, shifted=("x1",))
    current["x2"] = np.nan
    outcomes = _by_check(detect_drift(reference, current, ["x1", "x2", "ghost"], []))
    assert outcomes["drift.ks.ghost"].status is Status.ERROR
    assert "missing from the reference and current window" in outcomes["drift.ks.ghost"].reason
    assert outcomes["drift.ks.x2"].status is Status.ERROR
    assert "all null in the current window" in outcomes["drift.ks.x2"].reason
    assert outcomes["drift.ks.x1"].status is Status.FAIL
    share = outcomes["drift.share"]
    assert share.status is Status.FAIL and share.observed == 1.0  # 1 of the 1 tested feature


def test_non_numeric_column_listed_as_numeric_is_an_error() -> None:
    reference = pd.DataFrame({"plan": ["a", "b"] * 50})
    outcome = detect_drift(reference, reference.copy(), ["plan"], [])[0]
    assert outcome.status is Status.ERROR and "not numeric" in outcome.reason


def test_all_features_in_error_make_the_share_an_error() -> None:
    reference, current = _windows(100)
    share = detect_drift(reference, current, ["ghost"], [])[-1]
    assert share.check == "drift.share" and share.status is Status.ERROR


def test_unknown_method_or_correction_is_a_caller_error() -> None:
    reference, current = _windows(100)
    with pytest.raises(ValueError, match="unknown drift method"):
        detect_drift(reference, current, ["x0"], [], method="mmd")
    with pytest.raises(ValueError, match="unknown correction"):
        detect_drift(reference, current, ["x0"], [], correction="holm")


def test_nullable_integer_columns_are_numeric() -> None:
    rng = np.random.default_rng(8)
    reference = pd.DataFrame({"tenure": pd.array(rng.integers(0, 72, 2_000), dtype="Int64")})
    current = pd.DataFrame({"tenure": pd.array(rng.integers(24, 96, 2_000), dtype="Int64")})
    current.loc[:99, "tenure"] = pd.NA
    outcome = detect_drift(reference, current, ["tenure"], [])[0]
    assert outcome.status is Status.FAIL and "D=" in outcome.reason


@pytest.mark.parametrize("seed", range(6))
def test_chi2_p_values_match_alibis_chisquare_detector(seed: int) -> None:
    """chi2 on codes makes alibi-detect's ChiSquareDrift call without importing alibi."""
    from alibi_detect.cd import ChiSquareDrift

    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 12))
    ref = rng.choice(k, size=int(rng.integers(50, 3_000)), p=rng.dirichlet(np.ones(k)))
    cur = rng.choice(k, size=int(rng.integers(50, 3_000)), p=rng.dirichlet(np.ones(k)))
    ours = _score_one(_Feature("c", ref, cur, k), "chi2", 0.05).p_value
    detector = ChiSquareDrift(ref.reshape(-1, 1), p_val=0.05)  # categories from the data, as ours
    p_alibi, _ = detector.score(cur.reshape(-1, 1))
    assert ours == pytest.approx(float(p_alibi[0]), rel=1e-4, abs=1e-30)


@pytest.mark.parametrize("seed", range(6))
def test_fdr_threshold_matches_alibi_on_random_p_values(seed: int) -> None:
    from alibi_detect.utils.statstest import fdr

    rng = np.random.default_rng(seed)
    p_values = rng.uniform(0, 0.2, size=int(rng.integers(1, 30))) ** rng.uniform(1, 4)
    _, expected = fdr(p_values, q_val=0.05)
    assert _feature_threshold(p_values, 0.05, "fdr") == pytest.approx(float(np.min(expected)))

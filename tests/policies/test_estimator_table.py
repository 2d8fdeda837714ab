"""The static scikit-learn estimator table matches the installed scikit-learn."""

from __future__ import annotations

from retrain_core.policy.estimators import _imported_info, inspect_estimator, scan_sklearn
from retrain_core.policy.sklearn_estimators import ESTIMATORS, SKLEARN_VERSION


def test_static_table_matches_installed_scikit_learn() -> None:
    import sklearn

    assert sklearn.__version__ == SKLEARN_VERSION, "run: python -m retrain_core.policy.estimators"
    installed = scan_sklearn()
    missing = sorted(installed.keys() - ESTIMATORS.keys())
    extra = sorted(ESTIMATORS.keys() - installed.keys())
    assert not missing and not extra, (
        f"regenerate retrain_core/policy/sklearn_estimators.py: missing {missing[:5]}, "
        f"unknown {extra[:5]}"
    )
    changed = [path for path, entry in ESTIMATORS.items() if installed[path] != entry]
    assert not changed, f"regenerate retrain_core/policy/sklearn_estimators.py: {changed[:5]}"


def test_table_answers_as_importing_the_class_would() -> None:
    assert len(ESTIMATORS) > 150
    for path in (
        "sklearn.ensemble.RandomForestClassifier",
        "sklearn.linear_model.Ridge",
        "sklearn.preprocessing.StandardScaler",
        "sklearn.ensemble.HistGradientBoostingRegressor",
    ):
        assert inspect_estimator(path) == _imported_info(path)

"""What the staged-rollout tests share, in-process (tests/flows) and deployed (tests/e2e): a
better and a worse estimator on the demo churn stream, the stages they go through, triggers that
ask for no retrain of their own, and the stage events the ledger keeps.

On the demo stream a logistic regression (GOOD) beats the class prior (WEAK) and the constant
"churned" (BAD) is far worse than either, so a GOOD challenger of a WEAK champion advances and a
BAD challenger of a GOOD champion is rejected, each on the first labelled day it is judged on.
"""

from __future__ import annotations

from typing import Any

GOOD = {"class": "sklearn.linear_model.LogisticRegression", "params": {"max_iter": 500}}
WEAK = {"class": "sklearn.dummy.DummyClassifier", "params": {"strategy": "prior"}}
BAD = {"class": "sklearn.dummy.DummyClassifier", "params": {"strategy": "constant", "constant": 1}}
SHARE = 0.5  # of the keys the canary answers
STAGES: list[dict[str, Any]] = [
    {"shadow": {"min_rows": 600, "max_period": "7d"}},
    {"canary": {"share": SHARE, "key": "customer_id", "min_rows": 300, "margin": 0.05}},
]
QUIET = {"any": [{"max_age": "90d"}]}  # no retrain of its own during a test
LENIENT_GATE = {"min": None, "min_improvement": -0.9}  # any challenger reaches the stages
# the deployed staged policies (tests/e2e): name -> (first champion's, challenger's estimator)
ROLLOUTS = {"staged-better": (WEAK, GOOD), "staged-worse": (GOOD, BAD)}


def stage_events(uri: str, name: str) -> list[tuple[str, str, str]]:
    """The ledger's stage events of policy `name`, oldest first: (version, stage, action)."""
    from retrain_core.store import Store

    client = Store(uri).registry.client
    experiment = client.get_experiment_by_name(name)
    runs = client.search_runs([experiment.experiment_id], "tags.`retrain.kind` = 'stage'")
    found = sorted(
        runs, key=lambda r: (r.info.start_time, r.data.tags["retrain.stage_action"] != "entered")
    )
    return [
        (r.data.tags["retrain.to_version"], r.data.tags["retrain.stage"],
         r.data.tags["retrain.stage_action"])
        for r in found
    ]  # fmt: skip

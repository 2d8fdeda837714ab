"""Staged rollout as deployed: shadow, canary, champion through the worker's runs, the canary
served over HTTP by `mlflow models serve`.

Against the stack of `deployed` (conftest.py: Prefect server and worker, MLflow tracking server),
the two staged policies of `rollout.ROLLOUTS` read one seeded churn stream of their own (800 rows
a day, labels a day late; the runs' `data_root`). Every step is a deployment run the worker
executes, created through the Prefect API (test_deploy.py starts its own with `prefect deployment
run`); the two policies' runs go side by side:

- the first champion of each is trained at day 1 (promoted at once: nothing to try it beside);
- each policy is then switched to its challenger's estimator and trained again at day 1: the
  challenger passes the lenient gate and enters shadow (alias `challenger`);
- the check at day 3 judges each on day 1's labelled rows: staged-better's logistic regression
  (beside the class prior) moves to canary, staged-worse's constant "churned" (beside a logistic
  regression) is rejected, significantly worse;
- during the canary `mlflow models serve` of `staged-better-serving@serving` answers HTTP
  requests with both versions, split by the key's hash in about the share (the same key, the
  same version); the check at day 5 judges each version on the day-3 rows its keys reached and
  promotes the canary, and the same server, not restarted, then answers with v2 as champion.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest
import yaml
from rollout import ROLLOUTS, SHARE, stage_events
from test_serve import ask, check_split, served_until, serving

from retrain_core.data.demo import Story, day_start, write_day, write_reference
from retrain_core.store import Store
from retrain_core.store.explain import as_text
from retrain_core.store.serving_model import REFRESH_ENV

if TYPE_CHECKING:
    from conftest import Deployed  # the `deployed` fixture's type (tests/e2e/conftest.py)

pytestmark = pytest.mark.e2e

BETTER, WORSE = ROLLOUTS  # staged-better, staged-worse
RUN_SECONDS = 300.0
STREAM = Story(rows_per_day=800, reference_rows=3000)  # as tests/flows' stream


@dataclass
class Trial:
    """The deployed stack and the staged policies' stream, and the runs started so far."""

    deployed: Deployed
    stream: Path  # the runs' data_root
    runs: dict[str, list[Any]]  # policy -> its flow runs, oldest first

    @property
    def uri(self) -> str:
        return self.deployed.tracking_uri

    def aliases(self, name: str) -> dict[str, str]:
        return Store(self.uri).registry.aliases(name)

    def tags(self, name: str, version: str) -> dict[str, str]:
        return Store(self.uri).registry.version_tags(name, version)

    def land(self, *days: int) -> None:
        """Write the stream's days (each with the previous day's labels)."""
        for day in days:
            write_day(self.stream, STREAM, day)

    def run(self, flow: str, day: int, names: tuple[str, ...], **params: Any) -> list[Any]:
        """Start `flow`/NAME for each policy as of midnight of `day`, then wait for them all;
        each must end COMPLETED. Their flow runs, in `names`' order."""
        params = {"now": day_start(day).isoformat(), "data_root": str(self.stream), **params}
        started = [self.deployed.start_run(f"{flow}/{name}", **params) for name in names]
        finished = [self.deployed.wait_for_run(run_id, RUN_SECONDS) for run_id in started]
        for name, run in zip(names, finished, strict=True):
            assert run.state is not None and run.state.is_completed(), (
                f"{flow}/{name} run {run.name} ended {run.state}\n"
                + self.deployed.tail("worker", 120)
            )
            self.runs.setdefault(name, []).append(run)
        return finished


def use_estimator(policy: Path, estimator: dict[str, Any]) -> None:
    """Switch a deployed policy file to another estimator (its next training trains it)."""
    loaded = yaml.safe_load(policy.read_text())
    loaded["model"]["estimator"] = estimator
    policy.write_text(yaml.safe_dump(loaded, sort_keys=False))


@pytest.fixture(scope="module")
def quiet(deployed: Deployed) -> Iterator[None]:
    """The every-minute deployment paused while this module runs (its runs would compete for
    the worker), as it was afterwards."""
    with deployed.client() as client:
        scheduled = client.read_deployment_by_name(f"monitor/{deployed.scheduled}")
        if not scheduled.paused:
            client.pause_deployment(scheduled.id)
    yield
    if not scheduled.paused:
        with deployed.client() as client:
            client.resume_deployment(scheduled.id)


@pytest.fixture(scope="module")
def trial(deployed: Deployed, quiet: None) -> Trial:
    """Both staged policies up to their check at day 3: staged-better's challenger in canary,
    staged-worse's rejected."""
    began = time.monotonic()
    stream = deployed.root / "streams" / "staged"
    write_reference(stream, STREAM)
    found = Trial(deployed, stream, {})
    names = (BETTER, WORSE)
    found.run("train-validate-promote", 1, names, reason="e2e: first champion")
    for name in names:
        assert found.aliases(name) == {"champion": "1"}, name
        use_estimator(deployed.root / "policies" / f"{name}.yaml", ROLLOUTS[name][1])
    found.run("train-validate-promote", 1, names, reason="e2e: challenger")
    for name in names:
        assert found.aliases(name) == {"champion": "1", "challenger": "2"}, name
        assert found.tags(name, "2")["retrain.stage"] == "shadow"
    found.land(1, 2)  # day 1 labelled: 800 rows both models score in shadow
    found.run("monitor", 3, names)
    print(f"\ne2e: staged policies trained, staged and checked in {time.monotonic() - began:.0f} s")
    return found


def test_a_worse_challenger_is_rejected_in_shadow(trial: Trial) -> None:
    """staged-worse: the check at day 3 rejects v2 with its evidence; v1 keeps serving."""
    assert trial.aliases(WORSE) == {"champion": "1"}
    rejected = trial.tags(WORSE, "2")
    assert rejected["retrain.decision"] == "rejected"
    reasons = rejected["retrain.decision_reasons"]
    assert "shadow of v2: significantly worse: accuracy" in reasons and "on 800 rows" in reasons
    assert stage_events(trial.uri, WORSE) == [
        ("2", "shadow", "entered"),
        ("2", "shadow", "rejected"),
    ]
    check = trial.runs[WORSE][-1]
    assert check.state_name == "Held", check.state  # no retrain of its own; the stage's event:
    assert check.state.message.endswith("-> staged challenger: rejected"), check.state.message
    explained = as_text(Store(trial.uri).registry.explain(WORSE, "2"))
    assert "significantly worse" in explained, explained


def test_a_better_challenger_goes_shadow_canary_champion_while_serving_both(
    trial: Trial,
) -> None:
    """staged-better: canary at day 3, served by key over HTTP, champion at day 5; the running
    server follows the promotion without a restart."""
    uri = trial.uri
    assert trial.aliases(BETTER) == {"champion": "1", "canary": "2"}
    canary = trial.tags(BETTER, "2")
    assert canary["retrain.stage"] == "canary"
    assert "shadow of v2: not worse by more than" in canary["retrain.decision_reasons"]
    explained = as_text(Store(uri).registry.explain(BETTER, "2"))
    assert "  stage:     canary since " in explained and "(alias canary)" in explained, explained

    rows = pd.read_parquet(trial.stream / "data/churn/batches/day-02.parquet")
    rows = rows.drop(columns=["event_time"]).head(400)
    folder = trial.deployed.state / "serve-staged"
    folder.mkdir()
    refresh = {REFRESH_ENV: "1"}  # it reads the aliases again every second
    with serving(f"models:/{BETTER}-serving@serving", uri, folder, refresh) as server:
        answers = [
            a for start in range(0, 400, 100) for a in ask(server, rows[start : start + 100])
        ]
        expected = check_split(answers, rows, uri, BETTER, SHARE)
        assert set(expected) == {"1", "2"}
        shuffled = rows.sample(frac=1.0, random_state=0)  # the same key, the same version
        assert [a["version"] for a in ask(server, shuffled)] == [
            expected[i] for i in shuffled.index
        ]

        trial.land(3, 4)  # day 3 labelled: each version judged on the rows its keys reached
        (check,) = trial.run("monitor", 5, (BETTER,))
        assert trial.aliases(BETTER) == {"champion": "2", "previous": "1"}
        after = served_until(
            server, rows, lambda found: {a["version"] for a in found} == {"2"}, "v2 alone"
        )
        assert {a["alias"] for a in after} == {"champion"}

    canaried = trial.runs[BETTER][2]
    assert canaried.state.message.endswith("-> staged challenger: canary"), canaried.state
    assert check.state_name == "Held", check.state
    assert check.state.message.endswith("-> staged challenger: promoted"), check.state.message
    promoted = trial.tags(BETTER, "2")
    assert promoted["retrain.decision"] == "promoted"
    assert promoted["retrain.promoted_at"] == day_start(5).isoformat()  # probation's start
    assert "canary of v2: not worse by more than 0.05" in promoted["retrain.decision_reasons"]
    assert stage_events(uri, BETTER) == [
        ("2", "shadow", "entered"), ("2", "canary", "entered"), ("2", "canary", "promoted"),
    ]  # fmt: skip
    first = trial.runs[BETTER]
    assert [r.state_name for r in first] == ["Completed", "Completed", "Held", "Held"], first

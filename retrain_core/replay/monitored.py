"""Replay a policy through the monitor's own code: each step is one check, as `flows/monitor.py`.

The policy's batch and label files land in a staging folder as they would have arrived (a batch
when its newest row has happened, a label file `label_lag` after the newest row it labels), and
each step runs what the monitor flow runs on it, in its order: the ledger and quarantine are read,
a staged challenger judged and moved on (`replay.rollout`: `monitor.stages`' own steps), the
windows loaded and their batches judged (`monitor.windows`, so every bad-data rule of
`data/problems.py` applies), the champion's drift reference and late labels added
(`monitor.drift_reference`, `monitor.late_labels`), `evaluate()` and `decide()` (held while a
challenger is in a stage: `hold_for_stage`), then `settle()` says what is quarantined and judged.
A retrain runs the training flow's steps: the training rows
(`monitor.training_data`), their validation (`monitor.training_validation`), `train_challenger`
and the promotion gate (with `promotion.stages` and a champion, a passing challenger enters the
first stage). Only the clock (the step's `now`) and the stores (in memory:
`replay.memory`) differ from the flows. Not replayed: probation, manual approval (a passing
challenger is promoted, or staged), the fleet's limits and notifications.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from retrain_core.base.outcome import CheckOutcome, Status
from retrain_core.replay.memory import MemoryLedger, MemoryRegistry
from retrain_core.replay.steps import Step

if TYPE_CHECKING:
    import pandas as pd

    from retrain_core.policy.schema import Policy
    from retrain_core.policy.sources import Source
    from retrain_core.replay.backtest import History, Replay


class NotReplayable(ValueError):
    """The policy's sources are not files under the project root (a SQL source, a URL)."""


@dataclass
class Monitor:
    """One policy's replayed monitor: its stores, its staging folder and what has landed."""

    policy: Policy
    policy_hash: str
    root: Path  # the project root the policy's paths are relative to
    stage: Path  # the folder the checks read, where files land as they arrive
    allowed: Sequence[str] = ()
    ledger: MemoryLedger = field(init=False)
    registry: MemoryRegistry = field(default_factory=MemoryRegistry)
    landed: set[Path] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.ledger = MemoryLedger(self.policy_hash)

    def land(self, paths: Sequence[Path]) -> None:
        """Files arrive: hard-linked (copied across filesystems) under the same relative path."""
        for path in paths:
            if path in self.landed:
                continue
            target = self.stage / path.relative_to(self.root)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(path, target)
            except OSError:
                shutil.copyfile(path, target)
            self.landed.add(path)

    def policy_and_reference(self) -> pd.DataFrame:
        """The reference rows the policy's monitor reads (its first model's training rows)."""
        from retrain_core.data import read_source, required_columns

        return read_source(self.policy.data.reference, required_columns(self.policy), self.stage)


@dataclass(frozen=True)
class Checked:
    """One replayed check: its decision, the batches it set aside, and its training's outcome."""

    now: datetime
    verdict: str
    fired: tuple[str, ...]
    reasons: tuple[str, ...]
    quarantined: tuple[str, ...]
    trained: str = ""  # "", "promoted", "staged", "rejected", "failed" or "blocked"
    training_reasons: tuple[str, ...] = ()
    version: str = ""  # the version serving when the check ran ("" before the first)
    rows: int = 0
    labelled: int = 0
    since: datetime | None = None  # the change a retrain answered (`train_since`)
    stage: str = ""  # what the staged challenger did (`monitor.stages.watch`), "" without one
    stage_reasons: tuple[str, ...] = ()


def check(monitor: Monitor, now: datetime) -> Checked:
    """One monitor cycle at `now` on the files landed so far (flows/monitor.py's steps)."""
    from retrain_core.decide.decision import blocking_outcomes, decide
    from retrain_core.decide.evaluate import evaluate
    from retrain_core.decide.stages import hold_for_stage
    from retrain_core.monitor import drift_reference, late_labels, profiled, windows
    from retrain_core.monitor.settle import settle
    from retrain_core.replay import rollout

    policy, ledger, registry = monitor.policy, monitor.ledger, cast(Any, monitor.registry)
    history = ledger.history()
    marks, rows = ledger.watermarks()
    skip = ledger.quarantined()
    serving = monitor.registry.champion
    version = serving.version if serving else ""  # the one that served until this check
    stage, why = rollout.watch(policy, monitor.registry, monitor.stage, now, skip)
    moved = stage or ""
    champion = monitor.registry.champion  # the staged one, when it was promoted
    from retrain_core.data.errors import NoFiles

    try:
        data = windows.load_windows(
            policy, monitor.stage, marks, rows, skip, ledger.earlier_batch, now=now
        )
    except NoFiles as exc:  # the monitor's run fails and records nothing: no batch yet
        failed = (f"the check failed: {exc}",)
        return Checked(
            now, "failed", (), failed, (), version=version, stage=moved, stage_reasons=why
        )
    data = drift_reference.follow_champion(registry, policy, data, champion)
    data, fresh = late_labels.label_context(
        policy, monitor.stage, data, champion, history, now, skip
    )
    data = drift_reference.reference_profile(registry, policy, data, now)
    data = profiled.profile_window(registry, policy, monitor.stage, data, now)
    try:
        outcomes = evaluate(policy, data.windows, champion, now)
    except Exception as exc:  # as the monitor's run_checks: bad data, not a crash
        reason = f"the checks could not run on this window: {type(exc).__name__}: {exc}"
        outcomes = [CheckOutcome("data.current", Status.ERROR, reason[:1000])]
    has_champion = champion is not None
    decision = decide(
        policy.triggers, outcomes, history, now, has_champion, monitor.policy_hash,
        data.description, fresh,
    )  # fmt: skip
    staged = monitor.registry.staged()
    if staged is not None:  # one challenger on trial at a time
        decision = hold_for_stage(decision, staged.version, staged.stage)
    settled = settle(data, blocking_outcomes(decision.outcomes) if decision.blocked else [])
    profiled.keep_profiles(registry, policy.name, data, settled, now)
    n = data.windows.rows
    run = ledger.record(decision, settled.watermarks, n, settled.quarantined, settled.judged)
    result = Checked(
        now, decision.verdict, tuple(sorted(decision.fired)), decision.reasons,
        tuple(sorted(q.path.rsplit("/", 1)[-1] for q in settled.quarantined)),
        version=version, rows=n,
        labelled=len(data.windows.labelled) if data.windows.labelled is not None else 0,
        stage=moved, stage_reasons=why,
    )  # fmt: skip
    if not decision.retrain:
        return result
    trained, reasons = train(monitor, now, decision.train_since)
    ledger.record_training(run, trained)
    return replace(result, trained=trained, training_reasons=reasons, since=decision.train_since)


def train(monitor: Monitor, now: datetime, since: datetime | None) -> tuple[str, tuple[str, ...]]:
    """train-validate-promote's steps (flows/retrain.py): load, validate, train, gate, promote."""
    from retrain_core.checks.profile import profile_from_frame
    from retrain_core.decide.promotion import gate_challenger
    from retrain_core.kinds.context import Champion
    from retrain_core.monitor.training_data import training_data
    from retrain_core.monitor.training_validation import training_data_problems
    from retrain_core.replay import rollout
    from retrain_core.store.tags import optional_time
    from retrain_core.training.challenger import reference_sample, train_challenger
    from retrain_core.training.errors import TrainingError

    policy, ledger, registry = monitor.policy, monitor.ledger, monitor.registry
    data = training_data(policy, monitor.stage, ledger.quarantined(), ledger.judged(), now)
    found = training_data_problems(policy, data, ledger.validated())
    ledger.remember_validated(found.passed)
    if found.problems:
        return "blocked", tuple(found.problems)
    try:
        result = train_challenger(policy, data.frame, monitor.allowed, since)
    except TrainingError as exc:
        return "failed", (str(exc),)  # as the training flow says it
    version = registry.register()
    run_id = f"replay-run-{version}"
    sample = reference_sample(policy, result.rows)
    registry.log_reference(run_id, sample, profile_from_frame(sample, policy))
    champion = registry.champion
    if champion is None:
        gate = gate_challenger(policy, result, None, None)
    else:
        gate = gate_challenger(policy, result, champion.model, champion.trained_until)
    if not gate.promote:
        return "rejected", tuple(gate.reasons)
    until = optional_time(result.window[1]) if result.window else None
    challenger = Champion(
        version, now, dict(result.metrics), result.fitted.pipeline, trained_until=until,
        holdout_rows=result.n_holdout, run_id=run_id,
    )  # fmt: skip
    if rollout.staged_first(policy, registry):  # tried beside the champion first
        rollout.enter_first(policy, registry, challenger, now)
        return "staged", tuple(gate.reasons)
    registry.promote(challenger)
    return "promoted", tuple(gate.reasons)


def arrivals(policy: Policy, root: Path, label_lag: timedelta) -> dict[Path, datetime]:
    """When each batch and label file of the policy arrived: a batch once its newest row has
    happened, a label file `label_lag` after the newest row it labels. A file that cannot be read
    (or labels nothing) arrives with the file before it in key order (its neighbour in time)."""
    stamp = policy.data.timestamp
    if stamp is None:
        raise NotReplayable("a backtest replays by time: set data.timestamp in the policy")
    labels = policy.data.labels
    key = labels.join_on if labels is not None else None
    wanted = [stamp] + ([key] if key else [])
    found: dict[Path, datetime] = {}
    keyed: list[pd.DataFrame] = []
    current = _files(policy.data.current, root)
    for path in current:
        frame = _read(path, wanted)
        if frame is not None and not frame.empty:
            keyed.append(frame)
            found[path] = frame[stamp].max().to_pydatetime()
    _neighbours(current, found)
    if labels is None or key is None:
        return found
    import pandas as pd

    times = pd.concat(keyed).groupby(key)[stamp].max() if keyed else pd.Series(dtype=object)
    files = _files(labels, root)
    for path in files:
        frame = _read(path, [key], stamp=None)
        hit = times.reindex(frame[key].unique()).dropna() if frame is not None else times[:0]
        if len(hit):
            found[path] = hit.max().to_pydatetime() + label_lag
    _neighbours(files, found)
    return found


def _files(source: Source, root: Path) -> list[Path]:
    """The files of a source, in key order; NotReplayable when it has none on disk under root."""
    from retrain_core.data.errors import NoFiles
    from retrain_core.data.sources.files import SOURCE, list_files

    if source.kind != SOURCE.key:
        raise NotReplayable(f"a {source.kind} source has no files to replay one by one")
    try:
        paths = [Path(p) for p in list_files(source, root).paths]
    except NoFiles:
        return []
    base = root.resolve()
    for path in paths:
        if not path.resolve().is_relative_to(base):
            raise NotReplayable(f"{path} is outside the project root {root}")
    return paths


def _read(path: Path, columns: list[str], stamp: str | None = "") -> pd.DataFrame | None:
    """Some columns of one batch file (the timestamp parsed as UTC), or None if unreadable."""
    import pandas as pd

    try:
        if path.suffix.lower() in (".csv", ".txt"):
            frame = pd.read_csv(path, usecols=columns)
        else:
            frame = pd.read_parquet(path, columns=columns)
        if stamp is not None:
            frame[columns[0]] = pd.to_datetime(frame[columns[0]], utc=True)
            frame = frame.dropna(subset=[columns[0]])
    except Exception:
        return None
    return frame


def _neighbours(paths: list[Path], found: dict[Path, datetime]) -> None:
    """Files without an arrival take their predecessor's (or the first known one's)."""
    known = [found[p] for p in paths if p in found]
    if not known:
        return
    last = known[0]
    for path in paths:
        last = found.setdefault(path, last)


def staged(
    policy: Policy,
    policy_hash: str,
    root: Path,
    folder: Path,
    allowed: Sequence[str] = (),
) -> Monitor:
    """A replayed monitor reading `folder`, with the reference (and training source) landed."""
    from retrain_core.data.sources.files import SOURCE

    monitor = Monitor(policy, policy_hash, root, folder, allowed)
    for source in (policy.data.reference, policy.training.source):
        if source is not None and source.kind == SOURCE.key:
            monitor.land(_files(source, root))
    return monitor


def replay_monitor(
    policy: Policy,
    policy_hash: str,
    root: Path,
    history: History,
    steps: Sequence[datetime],
    label_lag: timedelta,
    metric: str,
    allowed: Sequence[str] = (),
) -> Replay:
    """The policy's replay through the monitor's code, scored as the baselines are.

    One step before `steps[0]` the training flow's steps train the first model on what has
    landed (the reference), as `train-validate-promote` run once before the first check does;
    then each step lands the files that arrived and runs one check. A step's score is the
    serving model's metric on the rows that arrived since the previous step.
    """
    from retrain_core.replay.backtest import Replay, Retrained
    from retrain_core.replay.rollout import served_score
    from retrain_core.replay.steps import naive, naive_times, slice_rows

    when = arrivals(policy, root, label_lag)
    stamp = policy.data.timestamp
    assert stamp is not None
    times = naive_times(history.rows[stamp])
    previous = steps[0] - (steps[1] - steps[0])
    trace: list[Step] = []
    retrained: list[Retrained] = []
    with tempfile.TemporaryDirectory(prefix="retrain-replay-") as folder:
        monitor = staged(policy, policy_hash, root, Path(folder), allowed)
        monitor.land([p for p, at in when.items() if naive(at) <= naive(previous)])
        _first_model(monitor, previous)
        first = monitor.registry.champion
        assert first is not None
        for index, now in enumerate(steps):
            monitor.land([p for p, at in when.items() if naive(at) <= naive(now)])
            batch = slice_rows(history.rows, times, previous, now)
            value = served_score(policy, monitor.registry, batch, metric)  # what users got
            checked = check(monitor, now)
            trace.append(_step(checked, len(batch), value))
            serving = monitor.registry.champion
            assert serving is not None
            if checked.stage == "promoted":  # a staged challenger took the alias
                retrained.append(Retrained(index, None, serving.model))
            if checked.trained:
                model = serving.model if checked.trained == "promoted" else None
                retrained.append(Retrained(index, checked.since, model))
            previous = now
    return Replay("policy", metric, tuple(trace), first.model, tuple(retrained))


def _first_model(monitor: Monitor, now: datetime) -> None:
    """The first champion, trained by the training flow's steps on what has landed; before any
    batch has landed (no file for the current source to list) on the reference alone."""
    from retrain_core.data.errors import NoFiles
    from retrain_core.replay.steps import bootstrap

    try:
        status, reasons = train(monitor, now, None)
    except NoFiles:
        first = bootstrap(monitor.policy, monitor.policy_and_reference(), now)
        run_id = f"replay-run-{monitor.registry.register()}"
        sample = first.trained_on
        monitor.registry.log_reference(run_id, sample, _profile(monitor.policy, sample))
        monitor.registry.promote(replace(first.champion, run_id=run_id))
        return
    if monitor.registry.champion is None:
        raise ValueError(f"the reference cannot train a first model: {status}: {reasons}")


def _profile(policy: Policy, sample: pd.DataFrame) -> Any:
    from retrain_core.checks.profile import profile_from_frame

    return profile_from_frame(sample, policy)


def _step(checked: Checked, rows: int, metric: float | None) -> Step:
    """A replayed check as a line of the backtest's trace."""
    return Step(
        checked.now, rows, checked.labelled, metric, checked.version or "-", checked.verdict,
        checked.fired, checked.reasons, checked.trained, checked.training_reasons,
        checked.quarantined, checked.stage, checked.stage_reasons,
    )  # fmt: skip

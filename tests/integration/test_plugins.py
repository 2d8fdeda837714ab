"""Extension from outside the package: a distribution that is not retrain adds a trigger kind,
a source kind and a notification channel, each by one module and one entry point, and retrain
validates, documents, reads, evaluates, decides and notifies with them, with no file of retrain's
touched (`tests/plugins/toy_retrain_plugin`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

PLUGIN = Path(__file__).resolve().parents[1] / "plugins"
POLICY = """\
version: 1
name: toy
model:
  task: classification
  target: churned
  features: {numeric: [tenure]}
  estimator: {class: sklearn.linear_model.LogisticRegression}
data:
  reference: {made_up: {rows: 50}}
  current: {made_up: {rows: 5}}
schedule: {interval: 1h}
triggers:
  any:
    - null_rows: {column: tenure, max_nulls: MAX}
gate: {metric: roc_auc}
notify: {on: [retrained], drop_dir: sent}
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder on PYTHONPATH holding the plug-in package and its installed metadata."""
    root = tmp_path_factory.mktemp("site")
    shutil.copytree(PLUGIN / "toy_retrain_plugin", root / "toy_retrain_plugin")
    info = root / "toy_retrain_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: toy-retrain-plugin\nVersion: 0.1\n"
    )
    shutil.copy(PLUGIN / "entry_points.txt", info / "entry_points.txt")
    return root


def _run(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_an_outside_kind_validates_with_lines_and_is_documented(site: Path, tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(POLICY.replace("MAX", "2"))
    (tmp_path / "bad.yaml").write_text(POLICY.replace("MAX", "-1"))
    (tmp_path / "wrong.yaml").write_text(POLICY.replace("MAX", "2").replace("rows: 50", "rows: 0"))
    cli = "from retrain_core.cli.main import main; raise SystemExit(main())"
    good = _run(site, tmp_path, "-c", cli, "validate", "good.yaml")
    assert good.returncode == 0, good.stdout + good.stderr
    bad = _run(site, tmp_path, "-c", cli, "validate", "bad.yaml")
    assert bad.returncode != 0
    assert "bad.yaml:14 triggers.any.0.null_rows.max_nulls: must be >= 0, got -1" in (
        bad.stdout + bad.stderr
    )
    schema = _run(site, tmp_path, "-c", cli, "schema")
    assert '"null_rows"' in schema.stdout and "Rows with a null in a column." in schema.stdout
    assert '"made_up"' in schema.stdout and "A made-up table (for tests)." in schema.stdout
    assert '"drop_dir"' in schema.stdout
    wrong = _run(site, tmp_path, "-c", cli, "validate", "wrong.yaml")
    assert (
        "wrong.yaml:9 data.reference.made_up.rows: must be >= 1, got 0"
        in wrong.stdout + wrong.stderr
    )


def test_an_outside_kind_is_evaluated_and_decides_a_retrain(site: Path, tmp_path: Path) -> None:
    (tmp_path / "toy.yaml").write_text(POLICY.replace("MAX", "2"))
    script = textwrap.dedent(
        """
        from datetime import UTC, datetime
        from pathlib import Path

        import pandas as pd

        from retrain_core.base.settings import Settings
        from retrain_core.data import load_reference, load_window
        from retrain_core.decide.decision import decide
        from retrain_core.decide.evaluate import evaluate
        from retrain_core.kinds.context import Windows
        from retrain_core.policy.loader import load_policies

        loaded, errors = load_policies([Path("toy.yaml")], Settings(root=Path(".")))
        assert errors == [], errors
        policy = loaded[0].policy
        now = datetime(2026, 12, 1, tzinfo=UTC)
        root = Path(".")
        reference = load_reference(policy.data.reference, ["tenure"], root).frame
        current = load_window(policy.data.current, ["tenure", "ts"], root, timestamp="ts").frame
        assert len(reference) == 50 and len(current) == 5, (len(reference), len(current))
        current.loc[:2, "tenure"] = None
        outcomes = evaluate(policy, Windows(reference=reference, current=current), None, now)
        decision = decide(policy.triggers, outcomes, [], now, has_champion=True)
        print([(o.check, o.status.value) for o in outcomes], decision.retrain, decision.reasons)

        from retrain_core.notify import Notification, send

        sent = send(policy.notify, Notification("retrained", "toy", decision.reasons))
        print("sent", sent, sorted(p.name for p in Path("sent").iterdir()))
        """
    )
    done = _run(site, tmp_path, "-c", script)
    assert done.returncode == 0, done.stderr
    assert "[('null_rows.count', 'fail')] True ('null_rows.count: 3 null rows',)" in done.stdout
    assert "sent True ['0000.json']" in done.stdout
    assert "null_rows.count: 3 null rows" in (tmp_path / "sent" / "0000.json").read_text()

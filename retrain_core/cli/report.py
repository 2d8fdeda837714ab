"""`retrain report POLICY [--out FILE] [--open]`: the policy's report as one HTML page.

The page (`retrain_core.report.page`) draws the ledger over logical time: the model's measured and
estimated metric with its thresholds, drift per feature, rows and expectations per batch,
quarantined batches, every decision and the champion's versions. It is one file with everything
inline (no network), so it can be mailed or attached. The monitor keeps the same page as each
check run's artifact `report.html`. The command also prints the link to MLflow's own chart of the
policy's signals over its checks (`Trend.page`: the trend run's metric page), with the command
that serves it for a local store. The arguments are in `retrain_core.cli.args.add_report_args`.
"""

from __future__ import annotations

import argparse
import sys
import webbrowser
from pathlib import Path

from retrain_core.cli.models import _store
from retrain_core.cli.quarantine import policy_name
from retrain_core.store.tracking import shown_uri


def report(args: argparse.Namespace) -> int:
    """Handler: read the policy's ledger, write the page, print where it is (and open it)."""
    from retrain_core.report.page import build_report

    settings, store = _store(args)
    name = policy_name(args.policy)
    history = store.history.read(name, args.checks)
    if not history.checks:
        print(f"retrain report: no check of {name!r} in the ledger ({store!r})", file=sys.stderr)
        return 1
    out = Path(args.out) if args.out else settings.data_path / "reports" / f"{name}.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(build_report(history), encoding="utf-8")
    print(f"{name}: {len(history.checks)} checks -> {out}")
    chart = store.trend.page(name)
    if chart is not None:
        print(f"In MLflow, its signals as lines over the checks: {chart}")
        uri = store.tracking_uri
        if not uri.startswith(("http://", "https://")):  # a local store: no UI runs for it
            print(f"  (serve it first: mlflow ui --backend-store-uri {shown_uri(uri)} --port 5000)")
    if args.open:
        webbrowser.open(out.resolve().as_uri())
    return 0

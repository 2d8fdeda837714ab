"""Why a registered version exists, as `retrain explain` prints it and its MLflow page says it.

`Explanation` gathers a version's lineage (its tags and training run metrics) and the check that
asked for it; `as_text` is the terminal's rendering and `as_markdown` the version's description
in MLflow (`Registry.write_description`). Pure: the registry reads, this renders.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from retrain_core.store.tags import (
    CHECKED_AT,
    DECISION,
    DECISION_REASONS,
    GATE,
    GATE_REASONS,
    GIT_COMMIT,
    MONITOR_RUN_ID,
    POLICY_HASH,
    REASONS,
    STAGE,
    STAGE_EVIDENCE,
    STAGE_SINCE,
    TRIGGER,
    WINDOW_END,
    WINDOW_START,
)


@dataclass(frozen=True)
class VersionInfo:
    """One registered version with its lineage and its training run, for `retrain explain`."""

    name: str
    version: str
    aliases: tuple[str, ...]
    tags: dict[str, str]
    run_id: str | None
    created: datetime
    metrics: dict[str, float]
    params: dict[str, str]


@dataclass(frozen=True)
class Explanation:
    """A version, and the tags of the check that asked for it (or why they are not readable)."""

    info: VersionInfo
    check: Mapping[str, str] = field(default_factory=dict)
    check_problem: str = ""

    def facts(self) -> list[tuple[str, str]]:
        """(label, text) in reading order: decision, trigger, window, gate, policy, holdout."""
        tags = self.info.tags

        def tag(key: str, default: str = "?") -> str:
            return tags.get(key, default)

        facts = [
            ("decision", f"{tag(DECISION, 'pending')}  {tag(DECISION_REASONS, '')}".rstrip()),
            ("trigger", tag(TRIGGER, "-")),
            ("window", f"{tag(WINDOW_START)} .. {tag(WINDOW_END)}"),
            ("gate", f"{tag(GATE, '-')}: {tag(GATE_REASONS, '')}".rstrip(": ")),
            ("policy", f"hash {tag(POLICY_HASH)}, git commit {tag(GIT_COMMIT)}"),
        ]
        if tags.get(STAGE):
            evidence = tag(STAGE_EVIDENCE, "no check yet")
            facts.append(("stage", f"{tags[STAGE]} since {tag(STAGE_SINCE)}: {evidence}"))
        metrics = self.info.metrics
        holdout = {k[len("holdout_") :]: v for k, v in metrics.items() if k.startswith("holdout_")}
        if holdout:
            facts.append(("holdout", ", ".join(f"{k}={v:.4g}" for k, v in sorted(holdout.items()))))
        return facts

    @property
    def title(self) -> str:
        info = self.info
        aliases = ", ".join(info.aliases) or "none"
        registered = f"{info.created:%Y-%m-%d %H:%M} UTC"
        return f"{info.name} v{info.version} (aliases: {aliases}), registered {registered}"

    @property
    def monitor_run(self) -> str:
        return self.info.tags.get(MONITOR_RUN_ID, "")

    @property
    def reasons(self) -> list[str]:
        """The reasons of the check that asked for this version."""
        return [r for r in self.check.get(REASONS, "").split("\n") if r]


def as_text(found: Explanation) -> str:
    """The explanation for a terminal: the title, one line per fact, the check's reasons."""
    lines = [found.title]
    lines += [f"  {label + ':':<10} {text}" for label, text in found.facts()]
    if found.check_problem:
        lines.append(f"  check:     MLflow run {found.monitor_run} is not readable: "
                     f"{found.check_problem}")  # fmt: skip
    elif found.monitor_run:
        checked = found.check.get(CHECKED_AT, "?")
        lines.append(f"  check:     {checked} (MLflow run {found.monitor_run})")
        lines += [f"             - {reason}" for reason in found.reasons]
    return "\n".join(lines)


def as_markdown(found: Explanation) -> str:
    """The explanation as a version's description in MLflow: why this version exists."""
    lines = [f"**{found.title}**", ""]
    lines += [f"- **{label}**: {_md(text)}" for label, text in found.facts()]
    if found.monitor_run:
        checked = found.check.get(CHECKED_AT, "?")
        lines += ["", f"**The check that asked for it**: {checked} (monitor run "
                      f"`{found.monitor_run}`)", ""]  # fmt: skip
        lines += [f"- {_md(reason)}" for reason in found.reasons]
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    """Text inside a markdown list item: no line breaks, no accidental emphasis."""
    return text.replace("\n", " ").replace("*", "\\*").replace("_", "\\_")

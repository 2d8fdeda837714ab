"""Drift references in MLflow: a sample of the training rows and its profile, kept with a run.

A version's reference lives with its training run (`reference/`); the profile of a reference
that has no version (a fixed file, a version stored without one) is a run of its own in the
policy's experiment, found again by its content key.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retrain_core.store.backend import Part, finished, quoted
from retrain_core.store.tags import KIND, POLICY, PROFILE_FORMAT, PROFILE_KEY, PROFILE_RUN, ms

if TYPE_CHECKING:
    from retrain_core.checks.profile import ReferenceProfile

REFERENCE_ARTIFACT = "reference/training_sample.parquet"
PROFILE_ARTIFACT = "reference/profile.json"  # the sample's ReferenceProfile.to_dict()


class Profiles(Part):
    """The registry's drift references and their profiles (a part of `Registry`)."""

    def log_reference(
        self, run_id: str, sample: Any, profile: ReferenceProfile | None = None
    ) -> None:
        """Store a sample of the training rows with the run: the version's drift reference.

        With the sample's profile (`checks.profile`), the drift checks of every later check
        against this version bin the current window against it instead of profiling again.
        """
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / Path(REFERENCE_ARTIFACT).name
            sample.to_parquet(path, index=False)
            self.client.log_artifact(run_id, str(path), str(Path(REFERENCE_ARTIFACT).parent))
        if profile is not None:
            self._log_profile(run_id, profile)

    def _log_profile(self, run_id: str, profile: ReferenceProfile) -> None:
        import json

        text = json.dumps(profile.to_dict(), separators=(",", ":"))
        self.client.log_text(run_id, text, PROFILE_ARTIFACT)

    def store_profile(self, name: str, profile: ReferenceProfile, *, now: datetime) -> str:
        """Keep the profile of a reference that has no version to live with (a fixed file, a
        version stored without one) in the policy's experiment, found again by its content key
        (`stored_profile`): a run of its own, FINISHED once the artifact is whole."""
        from retrain_core.checks.profile import FORMAT

        tags = {
            KIND: PROFILE_RUN,
            POLICY: name,
            PROFILE_KEY: profile.key,
            PROFILE_FORMAT: str(FORMAT),
        }
        moment = ms(now)
        run = self.client.create_run(
            self.store.experiment_id(name), start_time=moment, tags=tags,
            run_name=f"reference-profile-{profile.key[:12]}",
        )  # fmt: skip
        run_id = run.info.run_id
        with finished(self.client, run_id, moment):
            self._log_profile(run_id, profile)
        return run_id

    def stored_profile(self, name: str, key: str) -> ReferenceProfile | None:
        """The profile `store_profile` kept for reference content `key` (in this format), or
        None when there is none."""
        from retrain_core.checks.profile import FORMAT

        experiment = self.store.existing_experiment(name)
        if experiment is None:
            return None
        query = (
            f"tags.`{KIND}` = '{PROFILE_RUN}' and tags.`{PROFILE_KEY}` = '{quoted(key)}' "
            f"and tags.`{PROFILE_FORMAT}` = '{FORMAT}' and attributes.status = 'FINISHED'"
        )
        runs = self.client.search_runs([experiment], filter_string=query, max_results=1)
        return self.load_profile(runs[0].info.run_id) if runs else None

    def load_profile(self, run_id: str) -> ReferenceProfile | None:
        """The reference profile stored with a run; None when it has none (older versions)."""
        import json
        import tempfile

        from mlflow.exceptions import MlflowException

        from retrain_core.checks.profile import ReferenceProfile

        with tempfile.TemporaryDirectory() as folder:
            try:
                path = self.client.download_artifacts(run_id, PROFILE_ARTIFACT, folder)
            except (MlflowException, OSError):
                return None
            text = Path(path).read_text(encoding="utf-8")
        try:
            return ReferenceProfile.from_dict(json.loads(text))
        except (ValueError, KeyError, TypeError):  # another format: the checks profile again
            return None

    def load_reference(self, run_id: str) -> Any:
        """The training sample stored with a run, or None when the run has none."""
        import pandas as pd
        from mlflow.exceptions import MlflowException

        try:
            path = self.client.download_artifacts(run_id, REFERENCE_ARTIFACT)
        except (MlflowException, OSError):
            return None
        return pd.read_parquet(path)

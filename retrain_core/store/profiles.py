"""Drift references in MLflow: a sample of the training rows and its profile, kept with a run;
and the profile of every batch a check read, kept by its content key.

A version's reference lives with its training run (`reference/`); the profile of a reference
that has no version (a fixed file, a version stored without one) is a run of its own in the
policy's experiment, found again by its content key. The batches' profiles
(`checks.batch_profile`) are artifacts of the policy's one `batch_profiles` run,
`batch-profiles/<key>.json`, so a later check reads a batch's profile instead of its rows.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retrain_core.store.artifact_cache import artifact
from retrain_core.store.backend import Part, finished, local_dir, quoted
from retrain_core.store.tags import (
    BATCH_PROFILES,
    KIND,
    POLICY,
    PROFILE_FORMAT,
    PROFILE_KEY,
    PROFILE_RUN,
    ms,
)

if TYPE_CHECKING:
    from retrain_core.checks.batch_profile import BatchProfile
    from retrain_core.checks.profile import ReferenceProfile

REFERENCE_ARTIFACT = "reference/training_sample.parquet"
PROFILE_ARTIFACT = "reference/profile.json"  # the sample's ReferenceProfile.to_dict()
BATCH_FOLDER = "batch-profiles"  # <key>.json: a BatchProfile.to_dict()
ONE_BY_ONE = 4  # more profiles than this are fetched in one download of the folder


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

        from mlflow.exceptions import MlflowException

        from retrain_core.checks.profile import ReferenceProfile

        def download(folder: Path) -> str:
            return str(self.client.download_artifacts(run_id, PROFILE_ARTIFACT, str(folder)))

        try:  # a finished run's: kept on this machine once read (artifact_cache)
            with artifact(self.store.tracking_uri, (run_id, PROFILE_ARTIFACT), download) as path:
                text = path.read_text(encoding="utf-8")
        except (MlflowException, OSError):
            return None
        try:
            return ReferenceProfile.from_dict(json.loads(text))
        except (ValueError, KeyError, TypeError):  # another format: the checks profile again
            return None

    def load_reference(self, run_id: str) -> Any:
        """The training sample stored with a run, or None when the run has none."""
        import pandas as pd
        from mlflow.exceptions import MlflowException

        def download(folder: Path) -> str:
            return str(self.client.download_artifacts(run_id, REFERENCE_ARTIFACT, str(folder)))

        try:  # a finished run's: kept on this machine once read (artifact_cache)
            with artifact(self.store.tracking_uri, (run_id, REFERENCE_ARTIFACT), download) as path:
                return pd.read_parquet(path)
        except (MlflowException, OSError):
            return None

    def store_batch_profiles(
        self, name: str, profiles: list[BatchProfile], *, now: datetime
    ) -> None:
        """Keep each batch's profile under its content key (`batch_profiles`), on the policy's
        one `batch_profiles` run (created on first use)."""
        import json
        import tempfile

        if not profiles:
            return
        run_id = self._batch_run(name, now)
        assert run_id is not None  # created when there was none
        with tempfile.TemporaryDirectory() as folder:
            for profile in profiles:
                path = Path(folder) / f"{profile.key}.json"
                path.write_text(json.dumps(profile.to_dict(), separators=(",", ":")), "utf-8")
            self.client.log_artifacts(run_id, folder, BATCH_FOLDER)

    def batch_profiles(self, name: str, keys: list[str]) -> dict[str, BatchProfile]:
        """The stored profiles of these content keys (a key without one is left out).

        A run whose artifacts are local files is read in place; otherwise a few profiles are
        downloaded one by one and more in one download of the folder (one request per profile
        cost ~35 ms each: 3.5 s for a window of 100 batches)."""
        import tempfile

        from mlflow.exceptions import MlflowException

        run_id = self._batch_run(name, None)
        if run_id is None or not keys:
            return {}
        local = self._local_folder(run_id)
        if local is not None:
            return _read_profiles(local, keys)
        with tempfile.TemporaryDirectory() as folder:
            if len(keys) > ONE_BY_ONE:
                try:
                    path = self.client.download_artifacts(run_id, BATCH_FOLDER, folder)
                except (MlflowException, OSError):
                    return {}
                return _read_profiles(Path(path), keys)
            for key in keys:
                try:
                    self.client.download_artifacts(run_id, f"{BATCH_FOLDER}/{key}.json", folder)
                except (MlflowException, OSError):
                    continue  # none yet: the batch is profiled again
            return _read_profiles(Path(folder) / BATCH_FOLDER, keys)

    def _local_folder(self, run_id: str) -> Path | None:
        """The run's batch-profile folder when its artifacts are local files, else None."""
        folder = local_dir(self.client.get_run(run_id).info.artifact_uri or "")
        return None if folder is None else folder / BATCH_FOLDER

    @property
    def _batch_runs(self) -> dict[str, str]:
        return self.__dict__.setdefault("_batch_run_ids", {})

    def _batch_run(self, name: str, now: datetime | None) -> str | None:
        """The policy's `batch_profiles` run; with `now`, created when there is none."""
        if name in self._batch_runs:
            return self._batch_runs[name]
        experiment = self.store.existing_experiment(name)
        if experiment is not None:
            query = f"tags.`{KIND}` = '{BATCH_PROFILES}' and tags.`{POLICY}` = '{quoted(name)}'"
            runs = self.client.search_runs([experiment], filter_string=query, max_results=1)
            if runs:
                self._batch_runs[name] = runs[0].info.run_id
                return runs[0].info.run_id
        if now is None:
            return None
        moment = ms(now)
        run = self.client.create_run(
            self.store.experiment_id(name), start_time=moment,
            tags={KIND: BATCH_PROFILES, POLICY: name}, run_name="batch-profiles",
        )  # fmt: skip
        self.client.set_terminated(run.info.run_id, "FINISHED", end_time=moment)
        self._batch_runs[name] = run.info.run_id
        return run.info.run_id


def _read_profiles(folder: Path, keys: list[str]) -> dict[str, BatchProfile]:
    """The profiles `<key>.json` in `folder` (one missing, or of another format, left out: its
    batch is profiled again)."""
    import json

    from retrain_core.checks.batch_profile import BatchProfile

    found: dict[str, BatchProfile] = {}
    for key in keys:
        try:
            found[key] = BatchProfile.from_dict(json.loads((folder / f"{key}.json").read_bytes()))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return found

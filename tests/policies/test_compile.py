"""retrain compile: deterministic prefect.yaml that Prefect's own deployment models accept."""

from __future__ import annotations

import importlib.metadata
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import yaml

from retrain_core.base.settings import Settings, load_settings
from retrain_core.policy import compile as compiler
from retrain_core.policy.loader import LoadedPolicy, load_policies
from retrain_core.policy.schedule import Arrival, Schedule
from retrain_core.policy.schema import Training

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings(ROOT)


@pytest.fixture(scope="module")
def shipped(settings: Settings) -> list[LoadedPolicy]:
    loaded, errors = load_policies([settings.policies_path], settings)
    assert not errors, [str(e) for e in errors]
    return loaded


def _variant(base: LoadedPolicy, name: str, **update: Any) -> LoadedPolicy:
    """A copy of a shipped policy under another name (and file), with some fields replaced."""
    policy = base.policy.model_copy(update={"name": name, **update})
    return LoadedPolicy(base.path.with_name(f"{name}.yaml"), policy, base.text)


def _document(loaded: list[LoadedPolicy], settings: Settings) -> dict[str, Any]:
    text = compiler.render_prefect_yaml(loaded, settings)
    return yaml.safe_load(text)


def _deployment(doc: dict[str, Any], entrypoint: str, name: str) -> dict[str, Any]:
    found = [d for d in doc["deployments"] if d["entrypoint"] == entrypoint and d["name"] == name]
    assert len(found) == 1, (entrypoint, name)
    return found[0]


def test_same_input_same_bytes(shipped: list[LoadedPolicy], settings: Settings) -> None:
    first = compiler.render_prefect_yaml(shipped, settings)
    assert compiler.render_prefect_yaml(shipped, settings) == first
    assert compiler.render_prefect_yaml(list(reversed(shipped)), settings) == first


def test_header_and_top_level(shipped: list[LoadedPolicy], settings: Settings) -> None:
    text = compiler.render_prefect_yaml(shipped, settings)
    assert text.startswith(
        "# GENERATED FILE: do not edit. It is wholly owned by `retrain compile`."
    )
    assert str(ROOT) not in text, "prefect.yaml must not hold machine-specific paths"
    doc = yaml.safe_load(text)
    assert list(doc) == ["name", "prefect-version", "build", "pull", "deployments"]
    assert doc["pull"] == [dict(step) for step in settings.pull]


def test_prefect_version_is_the_installed_major_minor() -> None:
    installed = importlib.metadata.version("prefect")
    major_minor = ".".join(installed.split(".")[:2])
    assert major_minor == compiler.PREFECT_VERSION


def test_deployments_sorted_monitor_then_train(shipped: list[LoadedPolicy], settings) -> None:
    doc = _document(shipped, settings)
    expected = []
    for item in sorted(shipped, key=lambda item: item.policy.name):
        entrypoints = [compiler.MONITOR_ENTRYPOINT, compiler.TRAIN_ENTRYPOINT]
        if item.policy.promotion.approval == "manual":  # then a third: approve/<policy>
            entrypoints.append(compiler.APPROVE_ENTRYPOINT)
        expected += [(item.policy.name, e) for e in entrypoints]
    assert [(d["name"], d["entrypoint"]) for d in doc["deployments"]] == expected
    assert compiler.APPROVE_ENTRYPOINT in [e for _, e in expected]  # house-prices is manual


def test_approve_deployment(shipped: list[LoadedPolicy], settings: Settings) -> None:
    houses = _deployment(_document(shipped, settings), compiler.APPROVE_ENTRYPOINT, "house-prices")
    assert houses["parameters"] == {"policy_path": "policies/house-prices.yaml"}
    assert houses["work_pool"] == {"name": settings.work_pool, "job_variables": JOB_VARIABLES}
    assert houses["schedules"] == []
    assert "triggers" not in houses and "concurrency_limit" not in houses


def test_monitor_deployment(shipped: list[LoadedPolicy], settings: Settings) -> None:
    churn = _deployment(_document(shipped, settings), compiler.MONITOR_ENTRYPOINT, "churn")
    assert churn["parameters"] == {"policy_path": "policies/churn.yaml"}
    assert churn["concurrency_limit"] == {"limit": 1, "collision_strategy": "CANCEL_NEW"}
    assert churn["work_pool"] == {"name": settings.work_pool, "job_variables": JOB_VARIABLES}
    assert churn["tags"] == ["retrain", "policy:churn", "team-growth", "tier-1"]
    assert churn["description"].startswith("Churn classifier")
    assert churn["schedules"] == [{"cron": "0 2 * * *", "timezone": "UTC", "active": True}]


def test_interval_and_rrule_schedules(shipped: list[LoadedPolicy], settings: Settings) -> None:
    doc = _document(shipped, settings)
    houses = _deployment(doc, compiler.MONITOR_ENTRYPOINT, "house-prices")
    assert houses["schedules"] == [
        {"interval": 7 * 86400, "timezone": "Europe/London", "active": True}
    ]
    rrule = Schedule(rrule="FREQ=WEEKLY;BYDAY=MO", timezone="Europe/Paris", active=False)
    odd = _variant(shipped[0], "weekly", schedule=rrule, arrival=None)
    weekly = _deployment(_document([odd], settings), compiler.MONITOR_ENTRYPOINT, "weekly")
    assert weekly["schedules"] == [
        {"rrule": "FREQ=WEEKLY;BYDAY=MO", "timezone": "Europe/Paris", "active": False}
    ]
    assert weekly["triggers"] == []


def test_arrival_trigger(shipped: list[LoadedPolicy], settings: Settings) -> None:
    churn = _deployment(_document(shipped, settings), compiler.MONITOR_ENTRYPOINT, "churn")
    [trigger] = churn["triggers"]
    assert trigger["type"] == "event"
    assert trigger["expect"] == ["retrain.data.arrived"]
    assert trigger["match"] == {"prefect.resource.id": "retrain.policy.churn"}
    assert "within" not in trigger
    slow = _variant(shipped[0], "slow", arrival=Arrival(event="lake.landed", within="15m"))
    [trigger] = _deployment(_document([slow], settings), compiler.MONITOR_ENTRYPOINT, "slow")[
        "triggers"
    ]
    assert trigger["expect"] == ["lake.landed"]
    assert trigger["within"] == 900 and trigger["description"].endswith("one run per 15m.")


def test_train_deployment(shipped: list[LoadedPolicy], settings: Settings) -> None:
    gpu = _variant(shipped[0], "gpu", training=Training(work_pool="gpu-pool"))
    doc = _document([*shipped, gpu], settings)
    churn = _deployment(doc, compiler.TRAIN_ENTRYPOINT, "churn")
    assert churn["parameters"] == {"policy_path": "policies/churn.yaml"}
    assert churn["work_pool"] == {"name": settings.work_pool, "job_variables": JOB_VARIABLES}
    assert churn["schedules"] == []
    assert "triggers" not in churn and "concurrency_limit" not in churn
    gpu_pool = _deployment(doc, compiler.TRAIN_ENTRYPOINT, "gpu")["work_pool"]
    assert gpu_pool == {"name": "gpu-pool", "job_variables": JOB_VARIABLES}


def test_policy_outside_the_project_is_refused(shipped, settings, tmp_path: Path) -> None:
    stray = LoadedPolicy(tmp_path / "churn.yaml", shipped[0].policy, shipped[0].text)
    with pytest.raises(ValueError, match="outside the project folder"):
        compiler.build_deployments([stray], settings)


def test_no_build_step_when_pull_steps_do_not_need_it(shipped, settings: Settings) -> None:
    git = {"prefect.deployments.steps.git_clone": {"repository": "https://example.org/r.git"}}
    custom = Settings(root=settings.root, pull=(git,))
    doc = _document(shipped, custom)
    assert "build" not in doc and doc["pull"] == [git]


# ---- Prefect's own models ----------------------------------------------------------------------


@pytest.mark.integration
def test_prefect_yaml_models_accept_the_output(shipped, settings: Settings) -> None:
    from prefect.cli.deploy._models import ConcurrencyLimitSpec, PrefectYamlModel, RawScheduleConfig
    from prefect.cli.deploy._schedules import _schedule_config_to_deployment_schedule
    from prefect.client.schemas.actions import DeploymentScheduleCreate
    from prefect.client.schemas.objects import ConcurrencyOptions

    model = PrefectYamlModel.model_validate(_document(shipped, settings))
    assert model.prefect_version == compiler.PREFECT_VERSION
    manual = sum(item.policy.promotion.approval == "manual" for item in shipped)
    assert len(model.deployments) == 2 * len(shipped) + manual
    for deployment in model.deployments:
        for raw in deployment.model_dump()["schedules"] or []:
            RawScheduleConfig.model_validate(raw)
            DeploymentScheduleCreate(**_schedule_config_to_deployment_schedule(raw))
        if isinstance(deployment.concurrency_limit, ConcurrencyLimitSpec):
            assert deployment.concurrency_limit.limit == 1
            ConcurrencyOptions(collision_strategy=deployment.concurrency_limit.collision_strategy)


@pytest.mark.integration
def test_build_and_pull_steps_resolve_to_the_project_folder(settings: Settings) -> None:
    """At deploy time the build step output fills the pull step: no absolute path in the file."""
    from prefect.utilities.templating import apply_values

    build_outputs = {compiler.PROJECT_DIR_STEP_ID: {"stdout": "/srv/project", "stderr": ""}}
    pull = apply_values(list(settings.pull), build_outputs, remove_notset=False)
    step = pull[0]["prefect.deployments.steps.set_working_directory"]
    assert step == {"directory": "/srv/project"}


@pytest.mark.integration
def test_prefect_accepts_a_debounced_trigger(shipped, settings: Settings) -> None:
    slow = _variant(shipped[0], "slow", arrival=Arrival(event="lake.landed", within="15m"))
    deployment = _deployment(_document([slow], settings), compiler.MONITOR_ENTRYPOINT, "slow")
    [trigger] = _prefect_triggers(deployment)
    assert trigger.within == timedelta(minutes=15) and trigger.expect == {"lake.landed"}
    assert trigger.covers(_arrival("slow", event="lake.landed"))


def _prefect_triggers(deployment: dict[str, Any]) -> list[Any]:
    """The server-side triggers `prefect deploy` would create for one deployment."""
    from prefect.cli.deploy._triggers import _initialize_deployment_triggers
    from prefect.server.events.schemas.automations import EventTrigger

    triggers = _initialize_deployment_triggers(deployment["name"], deployment["triggers"])
    out = []
    for trigger in triggers:
        trigger.set_deployment_id(uuid4())
        automation = trigger.as_automation()
        out.append(EventTrigger.model_validate(automation.trigger.model_dump(mode="json")))
    return out


def _arrival(policy: str, event: str = "retrain.data.arrived") -> Any:
    from prefect.server.events.schemas.events import ReceivedEvent
    from prefect.types._datetime import now

    resource = compiler.arrival_resource(policy)
    return ReceivedEvent(occurred=now("UTC"), event=event, resource=resource, id=uuid4())


@pytest.mark.integration
def test_an_arrival_for_one_policy_never_starts_another(shipped, settings: Settings) -> None:
    churn = next(item for item in shipped if item.policy.name == "churn")
    cousins = [_variant(churn, "churn-eu"), _variant(churn, "chur")]
    doc = _document([churn, *cousins], settings)
    for name in ("churn", "churn-eu", "chur"):
        [trigger] = _prefect_triggers(_deployment(doc, compiler.MONITOR_ENTRYPOINT, name))
        assert trigger.posture == "Reactive" and trigger.within == timedelta(0)
        for other in ("churn", "churn-eu", "chur", "house-prices"):
            assert trigger.covers(_arrival(other)) is (other == name), (name, other)
        assert not trigger.covers(_arrival(name, event="retrain.data.deleted"))


JOB_VARIABLES = {
    "env": {
        "MLFLOW_TRACKING_URI": "{{ $MLFLOW_TRACKING_URI }}",
        "MKL_NUM_THREADS": "1",
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
    },
}


def test_job_env_from_settings_replaces_the_default(
    shipped: list[LoadedPolicy], settings: Settings
) -> None:
    custom = settings.model_copy(update={"job_env": (("OMP_NUM_THREADS", "2"),)})
    churn = _deployment(_document(shipped, custom), compiler.MONITOR_ENTRYPOINT, "churn")
    assert churn["work_pool"]["job_variables"] == {
        "env": {"MLFLOW_TRACKING_URI": "{{ $MLFLOW_TRACKING_URI }}", "OMP_NUM_THREADS": "2"},
    }


def test_no_deployment_names_a_command_the_workers_path_must_find(
    shipped: list[LoadedPolicy], settings: Settings
) -> None:
    # a worker started by absolute path with a bare PATH runs every deployment: the pool's type
    # starts the run through the worker's interpreter (retrain_core/runtime/worker.py)
    for deployment in _document(shipped, settings)["deployments"]:
        assert "command" not in deployment["work_pool"]["job_variables"], deployment["name"]


def test_job_env_must_be_a_table_of_strings(tmp_path: Path) -> None:
    pyproject = "[tool.retrain]\njob_env = { OMP_NUM_THREADS = [1] }\n"
    (tmp_path / "pyproject.toml").write_text(pyproject)
    with pytest.raises(ValueError, match="job_env must map names to strings"):
        load_settings(tmp_path)


def test_cron_jitter_moves_the_minute_by_a_stable_name_derived_offset(
    shipped: list[LoadedPolicy], settings: Settings
) -> None:
    names = [f"copy-{i}" for i in range(20)]
    schedule = Schedule(cron="0 2 * * *", jitter=timedelta(minutes=30))
    variants = [_variant(shipped[0], name, schedule=schedule) for name in names]
    doc = _document(variants, settings)
    minutes = []
    for name in names:
        [entry] = _deployment(doc, compiler.MONITOR_ENTRYPOINT, name)["schedules"]
        minute, rest = entry["cron"].split(maxsplit=1)
        assert rest == "2 * * *" and 0 <= int(minute) < 30
        minutes.append(int(minute))
    assert len(set(minutes)) > 8  # spread, not all at the same minute
    assert _document(variants, settings) == doc  # and the same on every compile


def test_interval_jitter_sets_an_anchor_inside_the_span(
    shipped: list[LoadedPolicy], settings: Settings
) -> None:
    schedule = Schedule(interval=timedelta(hours=1), jitter=timedelta(minutes=10))
    doc = _document([_variant(shipped[0], "hourly", schedule=schedule)], settings)
    [entry] = _deployment(doc, compiler.MONITOR_ENTRYPOINT, "hourly")["schedules"]
    anchor = datetime.fromisoformat(entry["anchor_date"])
    assert timedelta(0) <= anchor - compiler.JITTER_ANCHOR < timedelta(minutes=10)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"cron": "*/5 * * * *", "jitter": timedelta(minutes=3)}, "minute field is one number"),
        ({"cron": "45 2 * * *", "jitter": timedelta(minutes=30)}, "would leave the hour"),
        ({"interval": timedelta(minutes=5), "jitter": timedelta(minutes=5)}, "shorter than"),
        ({"rrule": "FREQ=DAILY", "jitter": timedelta(minutes=5)}, "not rrule"),
        ({"cron": "0 2 * * *", "jitter": timedelta(0)}, "must be positive"),
    ],
)
def test_jitter_that_cannot_be_honoured_is_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Schedule(**fields)

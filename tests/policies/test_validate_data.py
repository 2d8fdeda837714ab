"""`retrain validate` checks each policy against the data it can see: columns and paths.

A column the policy names that none of its data holds, and a data path with a typo, are errors
at the policy's line with a did-you-mean from the data (its columns, its folders). Data that is
not there yet is not an error, unless `--data DIR` says where it is.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from retrain_core.cli import main as cli
from retrain_core.data.columns import column_mismatches
from retrain_core.data.demo import Story, write_day, write_reference
from retrain_core.data.paths import MissingPath, missing_path
from retrain_core.policy.columns import Named, Seen, column_findings, named_columns
from retrain_core.policy.loader import load_policy

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shipped churn policy over two days of the demo stream."""
    (tmp_path / "pyproject.toml").write_text('[tool.retrain]\npolicies_dir = "policies"\n')
    (tmp_path / "policies").mkdir()
    shutil.copy(ROOT / "policies" / "churn.yaml", tmp_path / "policies" / "churn.yaml")
    story = Story(rows_per_day=50, reference_rows=100)
    write_reference(tmp_path, story)
    for day in (1, 2):
        write_day(tmp_path, story, day)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _edit(project: Path, old: str, new: str) -> int:
    """Replace text in the policy; the line it is on."""
    path = project / "policies" / "churn.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if new in line)


def _validate(*argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = cli.main(["validate", "policies/churn.yaml", *argv])
    return code, capsys.readouterr().out.splitlines()


def test_a_policy_that_matches_its_data_is_valid(project, capsys) -> None:
    assert _validate(capsys=capsys) == (0, ["1 policy valid"])


def test_a_misspelt_feature_is_an_error_with_the_datas_column(project, capsys) -> None:
    line = _edit(project, "monthly_charges, total_charges", "monthly_charge, total_charges")
    code, out = _validate(capsys=capsys)
    assert code == 1
    assert out[0] == (
        f"policies/churn.yaml:{line} model.features.numeric.1: no column 'monthly_charge' in "
        "the data (the reference, 2 current files) (did you mean 'monthly_charges'?)"
    )
    assert out[-1] == "1 error in 1 file"


@pytest.mark.parametrize(
    ("old", "new", "key", "hint"),
    [
        ("{column: tenure}", "{column: tenur}",
         "validation.0.expect_column_values_to_not_be_null.column", "'tenure'"),
        ("join_on: customer_id", "join_on: customerid", "data.labels.join_on", "'customer_id'"),
        ("timestamp: event_time", "timestamp: event_tim", "data.timestamp", "'event_time'"),
        ("target: churned", "target: churn", "model.target", "'churned'"),
    ],
)  # fmt: skip
def test_every_column_the_policy_names_is_checked(project, capsys, old, new, key, hint) -> None:
    line = _edit(project, old, new)
    code, out = _validate(capsys=capsys)
    assert code == 1
    assert out[0].startswith(f"policies/churn.yaml:{line} {key}: no column "), out
    assert f"(did you mean {hint}?)" in out[0]


def test_a_data_path_with_a_typo_names_the_folder_it_may_mean(project, capsys) -> None:
    line = _edit(project, '"data/churn/batches/*.parquet"', '"data/chrun/batches/*.parquet"')
    code, out = _validate(capsys=capsys)
    assert code == 1
    assert out[0] == (
        f"policies/churn.yaml:{line} data.current.path: no folder 'data/chrun' "
        "(did you mean 'data/churn/batches/*.parquet'?)"
    )


def test_data_not_there_yet_is_not_an_error_unless_data_dir_is_given(
    project, tmp_path_factory, capsys
) -> None:
    shutil.rmtree(project / "data")
    assert _validate(capsys=capsys) == (0, ["1 policy valid"])
    empty = tmp_path_factory.mktemp("empty")
    code, out = _validate("--data", str(empty), capsys=capsys)
    assert code == 1
    assert out[0].endswith("data.reference.path: no folder 'data'")
    assert _validate("--data", str(project / "nope"), capsys=capsys)[0] == 2


def test_data_dir_is_where_the_columns_are_read(project, tmp_path_factory, capsys) -> None:
    elsewhere = tmp_path_factory.mktemp("backup")
    shutil.move(project / "data", elsewhere / "data")
    line = _edit(project, "support_calls]", "support_cals]")
    code, out = _validate("--data", str(elsewhere), capsys=capsys)
    assert code == 1
    assert out[0].startswith(f"policies/churn.yaml:{line} model.features.numeric.3: no column")


def test_missing_path_corrects_every_part_and_leaves_the_glob() -> None:
    root = ROOT
    assert missing_path("retrain_core/data/*.py", root) is None
    found = missing_path("retrain_cor/dta/*.py", root)
    assert found is not None
    assert (found.missing, found.folder) == ("retrain_cor", True)
    assert found.suggestion == "retrain_core/data/*.py"
    single = missing_path("retrain_core/data/batchs.py", root)
    assert single is not None and not single.folder
    assert single.suggestion == "retrain_core/data/batches.py"
    assert missing_path("nothing/like/it.csv", root) == MissingPath("nothing", True, None)
    assert missing_path("s3://bucket/x/*.parquet", root) is None


def test_column_findings_judge_only_the_sources_seen() -> None:
    named = [
        Named(("model", "target"), "churned", ("reference", "labels")),
        Named(("data", "labels", "join_on"), "id", ("current", "labels")),
    ]
    seen = {"reference": Seen(1, frozenset({"a", "churnd"}))}
    (finding,) = column_findings(named, seen)
    assert finding.path == ("model", "target")
    assert "(did you mean 'churnd'?)" in finding.message
    assert column_findings(named, {}) == []
    assert column_findings(named, {"labels": Seen(3, frozenset({"id", "churned"}))}) == []


def test_named_columns_cover_features_target_time_key_and_expectations(project) -> None:
    policy = load_policy(project / "policies" / "churn.yaml").policy
    columns = {item.column for item in named_columns(policy)}
    assert columns == {
        "tenure", "monthly_charges", "total_charges", "support_calls", "contract",
        "payment_method", "churned", "event_time", "customer_id",
    }  # fmt: skip
    assert column_mismatches(policy, project) == []


def test_a_deployed_check_names_the_path_it_may_mean_too(project) -> None:
    """The monitor's own read fails with the same did-you-mean (no `retrain run` in front)."""
    from retrain_core.data import NoFiles
    from retrain_core.data.sources.files import list_files

    policy = load_policy(project / "policies" / "churn.yaml").policy
    source = policy.data.current.model_copy(update={"path": "data/chrun/batches/*.parquet"})
    with pytest.raises(NoFiles, match=r"did you mean 'data/churn/batches/\*\.parquet'"):
        list_files(source, project)

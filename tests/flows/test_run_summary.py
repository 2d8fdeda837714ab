"""A completed check's summary survives a final state that comes back from the API without it.

Under load the answer to a run's last state change can be lost; Prefect's client sends it again,
the API (which took the first) rejects the repeat and hands back its own copy of the state,
which has no result. `retrain run` and the demo then read the summary from this process's copy.
"""

from __future__ import annotations

from typing import Any

import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.exceptions import MissingResult
from prefect.states import Completed

from retrain_core.runtime.publish import summary_of, verdict_state

SUMMARY = {"policy": "churn", "verdict": "hold", "reasons": ["no trigger fired"], "rows": 3}


@flow
def check_like() -> Any:
    return verdict_state(dict(SUMMARY))


def test_the_summary_is_read_from_the_apis_copy_of_the_final_state() -> None:
    state = check_like(return_state=True)
    assert summary_of(state) == SUMMARY
    with get_client(sync_client=True) as client:
        from_api = client.read_flow_run(state.state_details.flow_run_id).state
    assert from_api is not None and from_api.name == "Held" and from_api.data is None
    with pytest.raises(MissingResult):
        from_api.result()
    assert summary_of(from_api) == SUMMARY


def test_a_state_without_data_and_no_copy_still_says_so() -> None:
    with pytest.raises(MissingResult):
        summary_of(Completed(data=None))

"""The outside services a run needs, asked before it starts: the Prefect API and MLflow."""

from __future__ import annotations

from retrain_core.base.errors import Refusal
from retrain_core.base.reachable import answers
from retrain_core.store.tracking import check_reachable


class PrefectUnreachable(Refusal):
    """The Prefect API that PREFECT_API_URL names does not answer."""


def check_services(tracking_uri: str) -> None:
    """Raise the refusal of the first service that does not answer: the Prefect API (when
    PREFECT_API_URL names a server; else Prefect's embedded API is started), then the tracking
    server. Each is asked once with a short timeout, so a service that is down is named in
    seconds, before any work or lock is taken."""
    from prefect.settings import PREFECT_API_URL

    api = PREFECT_API_URL.value()
    if api:
        why = answers(f"{api.rstrip('/')}/health")
        if why is not None:
            raise PrefectUnreachable(
                f"the Prefect API {api} does not answer ({why}): start it (`prefect server "
                "start`), or unset PREFECT_API_URL to run on Prefect's embedded API"
            )
    check_reachable(tracking_uri)

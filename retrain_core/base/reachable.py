"""Whether an HTTP service answers, asked once with a short timeout (standard library only).

Outside services (the MLflow tracking server, the Prefect API) are asked before a command or a
run starts its work, so a service that is down is named in one line within seconds instead of
after every client's retries.
"""

from __future__ import annotations

import urllib.error
import urllib.request

PROBE_SECONDS = 5.0


def answers(url: str, timeout: float = PROBE_SECONDS) -> str | None:
    """None when an HTTP server answers at `url` (any status: it is up), else why not."""
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return None
    except urllib.error.HTTPError:  # it answered, if only to refuse
        return None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            return f"no answer in {timeout:.0f} s"
        if isinstance(reason, OSError) and reason.strerror:
            return reason.strerror.lower()
        return str(reason)
    except TimeoutError:
        return f"no answer in {timeout:.0f} s"
    except (OSError, ValueError) as exc:
        return str(exc) or type(exc).__name__

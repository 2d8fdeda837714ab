"""Refusals: a run or command stops for a reason its user fixes, and says so in one line."""

from __future__ import annotations


class Refusal(Exception):
    """A stop the user fixes (a policy that does not load, a service that does not answer, a
    policy busy with another run): its message is one line for people, with what to do.

    Commands print it as `retrain COMMAND: message` and exit 1; a flow ends Failed with it as
    its state message. Neither shows a traceback or the exception's name.
    """

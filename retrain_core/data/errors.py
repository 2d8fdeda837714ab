"""What can go wrong while loading a window, sorted by what the monitor should do about it.

- `SourceUnavailable`: the source cannot be reached (missing file, no file matches a glob, refused
  or failing database, unset URL variable). Transient or operational: the task retries, then the
  flow run fails with this message and no ledger entry is written.
- `BadData`: the source was reached but its content cannot form the window (a corrupt or
  unparseable file, a timestamp column the window needs that is missing or unparseable, labels
  without their key). The monitor records a blocked decision with `str(error)` as the reason;
  nothing is retrained. Inside a window of files, a bad file is quarantined instead (see
  `retrain_core.data.batches`) and the other files are judged.
- `DataConfigError`: the policy asks for something its source cannot give (a `last: 7d` window
  without `data.timestamp`, an unknown file format, a query parameter with no value). Not
  transient and not the data's fault: the run fails; `retrain validate` should catch it earlier.

Columns the policy needs but the data lacks are neither: the loaders return the frame without
them and `retrain_core.data.problems.check_columns` lists them as bad-data problems.
"""

from __future__ import annotations


class DataError(Exception):
    """Base class of every error raised while loading data for a policy."""


class SourceUnavailable(DataError):
    """The source cannot be reached now: retry, then fail the run with this message."""


class BadData(DataError):
    """The source was read but its content is unusable: record a blocked decision."""


class DataConfigError(DataError, ValueError):
    """The policy asks for a window or format its source cannot provide."""


class NoFiles(SourceUnavailable):
    """A glob matches no file yet: fatal for data a check needs, normal for labels still to come."""

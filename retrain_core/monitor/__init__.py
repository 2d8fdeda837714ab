"""One monitor cycle's I/O, as plain functions the flow's tasks call: load, then decide, then act.

`windows` loads what a check judges, `serving` the champion, `drift_reference` what drift
compares with (and its profile), `late_labels` the champion's live labelled rows and the change's
labels; `training_data` assembles the challenger's rows (from `current_rows`, as the backtest
does) and `training_validation` validates the part of them no check judged; `settle` says, once
the decision is known, which batches were judged and which are quarantined.
"""

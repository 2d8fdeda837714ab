"""The source kinds: one module per kind of source, each naming its entry in `SOURCE`.

`retrain_core.policy.source_kinds` finds them (with those of outside packages, entry-point group
`retrain.sources`); nothing else lists them. A new kind (BigQuery, Delta) is one module here.
"""

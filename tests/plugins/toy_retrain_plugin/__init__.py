"""A package outside retrain that adds one trigger kind, one source kind and one channel.

Each is one module; the package's entry points (`entry_points.txt` beside it, copied into a
`.dist-info` folder by the test) are all retrain needs to find them.
"""

"""The report per policy: one self-contained HTML page over the ledger's history (pure: values in,
HTML out). `history` holds the values the store reads, `svg` the chart primitives, `page` the page.
"""

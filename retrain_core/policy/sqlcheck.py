"""What a SQL source may be: one SELECT statement, on a dialect where reads are enforced read-only.

The same checks run in `retrain validate` and right before a query is sent, so a policy that
skipped validation still cannot stack a second statement (`SELECT 1; DROP TABLE x`). A `;` is
refused anywhere but at the very end, even inside a string literal: quoting rules differ between
dialects, and values belong in bound parameters (`:name` with `params`) anyway.
"""

from __future__ import annotations

import re

from retrain_core.policy.locations import SQL_DIALECTS, Roots, credential_problem, sql_dialect

_FIRST_WORD = re.compile(r"^[\s(]*([A-Za-z]+)")
_READS = ("select", "with")


def statement_problem(query: str) -> str | None:
    """Why a query is not exactly one SELECT (or WITH ... SELECT) statement, or None."""
    body = query.strip()
    body = body[:-1].rstrip() if body.endswith(";") else body
    if ";" in body:
        return (
            "a query is exactly one statement: remove the ';' (pass values holding ';' as "
            "bound params)"
        )
    match = _FIRST_WORD.match(body)
    if match is None or match.group(1).lower() not in _READS:
        return "a query must start with SELECT or WITH (sources are read, never written)"
    return None


def url_problem(url: str, roots: Roots) -> str | None:
    """Why a SQLAlchemy URL written in a policy is refused (credentials, dialect, file), or None."""
    secret = credential_problem(url)
    if secret:
        return f"{secret}: put the whole URL in an environment variable named in url_env"
    dialect = sql_dialect(url)
    if dialect not in SQL_DIALECTS:
        shown = f"database {dialect!r}" if dialect else "URL (expected dialect://...)"
        return (
            f"unsupported {shown}: use {' or '.join(SQL_DIALECTS)}, where reads run in a "
            "read-only transaction"
        )
    return roots.sqlite_problem(url) if dialect == "sqlite" else None

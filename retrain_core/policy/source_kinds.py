"""The registry of source kinds: where a policy's rows can come from, each kind in one entry.

A kind is one way of reading rows (`files`, `sql`, ...). Its entry declares the policy keys it
adds to every source (`model`: the first key names the kind, e.g. `path` or `sql`), the reader
that reads those settings, how messages name it, its capabilities (whether its rows come in files
read and judged one by one) and the checks `retrain validate` runs on its raw settings. The policy
models (`policy.sources.Source`), the data windows and the generated schema and docs all read
this registry.

Entries are found, not listed: every module of `retrain_core.data.sources` that defines `SOURCE`,
then every entry point of the group `retrain.sources` (an outside package), in the order of
`SourceKind.order`. Adding a kind is one module (see `retrain_core.data.sources.sql`);
`registered` adds one for the duration of a `with` block (tests).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from retrain_core.base.plugins import Registry

if TYPE_CHECKING:
    from retrain_core.base.settings import Settings
    from retrain_core.policy.finding import Finding
    from retrain_core.policy.yamlio import Path_

# (the kind's settings as its `model`, the project root) -> a reader (`data.readers.SourceReader`)
Reader = Callable[[Any, Path], Any]
# (the raw source mapping, the project's settings, the source's key path) -> findings
SourceCheck = Callable[[dict[str, Any], "Settings", "Path_"], list["Finding"]]


@dataclass(frozen=True)
class SourceKind:
    """One source kind.

    `key` names the kind (`Source.kind`, the docs); `model` holds the keys it adds to a policy
    source, its first field being the key that chooses the kind (exactly one kind's is set).
    `reader` reads the settings (`read`, `describe`, `watermark_kind`, and `files` when
    `lists_files`). `label` names the kind in messages ("a SQL source").
    `lists_files`: its rows come in files, each read and judged on its own (a bad batch is set
    aside, the watermark may be the set of judged files).
    `findings`: checks of its raw settings that pydantic cannot do (data roots, credentials).
    `order`: where the kind comes in the docs and the schema (lower first).
    `example`: a valid source of this kind as a policy writes it (docs, conformance suite).
    """

    key: str
    model: type[BaseModel]
    reader: Reader
    label: str
    lists_files: bool = False
    findings: SourceCheck | None = None
    order: int = 1000
    example: Any = None

    @property
    def selector(self) -> str:
        """The policy key whose presence makes a source of this kind (its model's first field)."""
        return next(iter(self.model.model_fields))


SOURCE_KINDS: Registry[SourceKind] = Registry(
    "source kind", "retrain_core.data.sources", "SOURCE", "retrain.sources"
)
on_change = SOURCE_KINDS.on_change
register = SOURCE_KINDS.register
unregister = SOURCE_KINDS.unregister
registered = SOURCE_KINDS.registered

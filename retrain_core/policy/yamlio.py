"""Safe YAML reading that remembers the line of every key and value, for `path:line` errors."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

Path_ = tuple[str | int, ...]

_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans: `on`, `off`, `yes`, `no` stay strings."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL, list("tTfF"))

# libyaml's composer, with the same resolvers; nodes keep their line numbers. Its error messages
# are worded differently, so a document it rejects is parsed again by the Python loader.
_FastLoader: type | None = None
if getattr(yaml, "__with_libyaml__", False):

    class _CLoader(yaml.CSafeLoader):
        """CSafeLoader with the same YAML 1.2 booleans as `_Loader`."""

    _CLoader.yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers
    _FastLoader = _CLoader


class YamlError(Exception):
    """Malformed YAML, with the 1-based line where the problem is."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass
class LocatedYaml:
    """Parsed YAML data and the line of each key path (1-based)."""

    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)

    def line_of(self, path: Path_) -> int:
        """The line of `path`, or of its nearest ancestor present in the file."""
        for cut in range(len(path), -1, -1):
            if path[:cut] in self.lines:
                return self.lines[path[:cut]]
        return 1


def read_yaml(text: str) -> LocatedYaml:
    """Parse one YAML document safely; tabs, bad indentation and duplicate keys raise YamlError."""
    try:
        node = _compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise YamlError(line, _yaml_message(exc)) from None
    if node is None:
        return LocatedYaml(data=None, lines={(): 1})
    located = LocatedYaml(data=None)
    located.data = _Builder(located.lines).build(node, ())
    return located


def _compose(text: str) -> yaml.Node | None:
    """The document's node tree: by libyaml when available, else (or on an error) by Python.

    libyaml accepts some tabs PyYAML refuses, so a text with a tab goes to Python directly.
    """
    if _FastLoader is not None and "\t" not in text:
        try:
            return yaml.compose(text, Loader=_FastLoader)
        except yaml.YAMLError:
            pass  # parsed again below for the Python loader's line and wording
    return yaml.compose(text, Loader=_Loader)


_STR = "tag:yaml.org,2002:str"
_COLLECTION_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")
_ALIAS = "aliases (*name) are not supported in policies: write the value out"


class _Builder:
    """Turns composed nodes into plain data and records lines; each node is used once, so an
    alias (which may be recursive or expand exponentially) is an error."""

    def __init__(self, lines: dict[Path_, int]) -> None:
        self.lines = lines
        self.seen: set[int] = set()
        self.constructor = _Loader("")  # one per document: its caches are neither kept nor shared

    def build(self, node: yaml.Node, path: Path_, alias_line: int = 0) -> Any:
        """Plain data for `node`, found at `path`."""
        if id(node) in self.seen:
            raise YamlError(alias_line or node.start_mark.line + 1, _ALIAS)
        self.seen.add(id(node))
        self.lines[path] = node.start_mark.line + 1
        if not isinstance(node, yaml.ScalarNode) and node.tag not in _COLLECTION_TAGS:
            raise YamlError(node.start_mark.line + 1, f"unsupported tag {node.tag!r}")
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key, key_line = self.scalar(key_node), key_node.start_mark.line + 1
                if key in result:
                    raise YamlError(key_line, f"duplicate key {key!r}")
                result[key] = self.build(value_node, (*path, key), key_line)
                self.lines[(*path, key)] = key_line
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self.scalar(node)

    def scalar(self, node: yaml.Node) -> Any:
        """The value of a scalar node (a key must be one)."""
        if not isinstance(node, yaml.ScalarNode):
            raise YamlError(node.start_mark.line + 1, "a key must be a plain value")
        if node.tag == _STR:
            return node.value  # what the constructor returns for a string, without its bookkeeping
        try:
            return self.constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
            line = node.start_mark.line + 1
            if node.tag.endswith(":merge"):
                raise YamlError(line, "merge keys (<<) are not supported in policies") from None
            problem = getattr(exc, "problem", None) or f"invalid value {node.value!r}: {exc}"
            raise YamlError(line, problem) from None


def _yaml_message(exc: yaml.MarkedYAMLError) -> str:
    """A short message for a parse error, in the words of the usual mistakes."""
    problem = exc.problem or "malformed YAML"
    if "\\t" in problem or "\t" in problem:
        return "tab character: indent YAML with spaces"
    if problem.startswith("expected <block end>"):
        return "bad indentation: this line does not line up with the keys above it"
    if problem == "mapping values are not allowed here":
        return "malformed YAML: unexpected ':' (check the indentation, or quote the value)"
    context = exc.context or ""
    if context and exc.context_mark is not None:
        context += f" started on line {exc.context_mark.line + 1}"
    return f"malformed YAML: {problem}" + (f" ({context})" if context else "")

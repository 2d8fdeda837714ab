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


_CONSTRUCTOR = _Loader("")


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
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise YamlError(line, _yaml_message(exc)) from None
    if node is None:
        return LocatedYaml(data=None, lines={(): 1})
    located = LocatedYaml(data=None)
    located.data = _build(node, (), located.lines)
    return located


def _build(node: yaml.Node, path: Path_, lines: dict[Path_, int]) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            if key in result:
                raise YamlError(key_node.start_mark.line + 1, f"duplicate key {key!r}")
            result[key] = _build(value_node, (*path, key), lines)
            lines[(*path, key)] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), lines) for i, item in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        raise YamlError(node.start_mark.line + 1, "a key must be a plain value")
    return _CONSTRUCTOR.construct_object(node, deep=True)


def _yaml_message(exc: yaml.MarkedYAMLError) -> str:
    problem = exc.problem or "malformed YAML"
    if "\\t" in problem or "\t" in problem:
        return "tab character: indent YAML with spaces"
    context = f" ({exc.context})" if exc.context else ""
    return f"malformed YAML: {problem}{context}"

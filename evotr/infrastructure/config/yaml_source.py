"""Read a YAML file with PyYAML's SafeLoader and remember the line of every dotted key path.

PyYAML throws positions away once it builds Python objects, so the file is first composed into
nodes (which carry marks); walking the nodes gives ``path -> line`` and catches duplicate keys,
which PyYAML would otherwise resolve silently by keeping the last one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from evotr.infrastructure.config.errors import ConfigError

_STR_TAG = "tag:yaml.org,2002:str"


def child_path(parent: str, key: str) -> str:
    """The dotted path of ``key`` inside ``parent`` (the root's path is ``""``)."""
    return f"{parent}.{key}" if parent else key


def item_path(parent: str, index: int) -> str:
    """The path of the ``index``-th item of the list at ``parent``."""
    return f"{parent}[{index}]"


@attrs.frozen(slots=True)
class YamlDocument:
    """A parsed YAML file: its top-level mapping plus the 1-based line of each key path."""

    file: Path
    data: dict[str, Any]
    lines: dict[str, int]

    def line(self, path: str) -> int | None:
        """The line of ``path`` (a mapping key's own line, a list item's first line), if present."""
        return self.lines.get(path)

    def error(self, path: str, problem: str, *, line_of: str | None = None) -> ConfigError:
        """A ConfigError at ``path``; ``line_of`` names another path whose line to report."""
        return ConfigError(self.file, self.line(path if line_of is None else line_of), path, problem)


def load_yaml(file: Path) -> YamlDocument:
    """Read ``file`` (UTF-8) and return its top-level mapping with key lines.

    Raises ConfigError for a missing or unreadable file, non-UTF-8 bytes, YAML syntax errors,
    duplicate or non-text keys, an empty file and a top level that is not a mapping.
    """
    return parse_yaml(file, _read_text(file))


def parse_yaml(file: Path, text: str) -> YamlDocument:
    """Like :func:`load_yaml` for ``text`` already read (errors still name ``file``)."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise ConfigError(file, None, "", "file is empty; expected a mapping of settings")
        if not isinstance(root, MappingNode):
            found = "a list" if isinstance(root, SequenceNode) else f"the value {_short(root)}"
            raise ConfigError(file, _line(root), "", f"top level must be a mapping of keys, found {found}")
        lines: dict[str, int] = {"": _line(root)}
        _walk(file, root, "", lines, set())
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        problem = err.problem or err.context or "unreadable YAML"
        line = None if mark is None else mark.line + 1
        raise ConfigError(file, line, "", f"invalid YAML: {problem}") from None
    except yaml.YAMLError as err:
        raise ConfigError(file, None, "", f"invalid YAML: {err}") from None
    finally:
        loader.dispose()
    return YamlDocument(file, data, lines)


def _read_text(file: Path) -> str:
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise ConfigError(file, None, "", "file does not exist") from None
    except IsADirectoryError:
        raise ConfigError(file, None, "", "is a folder, expected a YAML file") from None
    except OSError as err:
        raise ConfigError(file, None, "", f"cannot read the file: {err.strerror or err}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        byte = raw[err.start]
        raise ConfigError(
            file, line, "", f"not valid UTF-8 (byte 0x{byte:02x}); save the file as UTF-8"
        ) from None
    return text.removeprefix("\ufeff")


def _walk(file: Path, node: Node, path: str, lines: dict[str, int], active: set[int]) -> None:
    # An alias can point back at one of its own ancestors; stop instead of looping forever.
    if id(node) in active:
        raise ConfigError(file, _line(node), path, "a YAML alias refers to itself")
    active.add(id(node))
    if isinstance(node, MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            line = _line(key_node)
            if not isinstance(key_node, ScalarNode):
                raise ConfigError(file, line, path, f"a key must be text, not {_short(key_node)}")
            if key_node.tag != _STR_TAG:
                # YAML 1.1 reads bare `on`, `no`, `1` as bool/int; our keys are always names.
                kind = key_node.tag.rsplit(":", 1)[-1]
                raise ConfigError(
                    file, line, child_path(path, key_node.value), f"key is read as {kind}, not text; quote it"
                )
            name = key_node.value
            child = child_path(path, name)
            if name in seen:
                raise ConfigError(file, line, child, f"duplicate key; first set on line {seen[name]}")
            seen[name] = line
            lines[child] = line
            _walk(file, value_node, child, lines, active)
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            lines[item_path(path, index)] = _line(item)
            _walk(file, item, item_path(path, index), lines, active)
    active.discard(id(node))


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def _short(node: Node) -> str:
    if isinstance(node, ScalarNode):
        value = node.value if len(node.value) <= 40 else node.value[:37] + "..."
        return repr(value)
    return "a list" if isinstance(node, SequenceNode) else "a mapping"

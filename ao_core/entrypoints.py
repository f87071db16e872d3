"""The entry points of one group, found as :mod:`importlib.metadata` finds them, without it.

Importing importlib.metadata (email, zipfile, csv, pathlib ...) and letting it read every
installed distribution's metadata cost more than the rest of a command on the backup
files. This module walks the same places in the same order: each ``sys.path`` directory,
its ``*.dist-info`` and ``*.egg-info`` directories as ``os.listdir`` gives them, the
first distribution of each (normalized) name winning; but it reads only their
``entry_points.txt``, and a distribution's name and version only when it offers the
group. Nothing is kept between commands, so a plugin installed or uninstalled a moment
ago is found or forgotten at once.

What it does not read the way importlib.metadata does is left to importlib.metadata:
a zip file or an ``.egg`` directory on ``sys.path``, a ``sys.meta_path`` finder with
distributions of its own, a metadata directory whose file name does not give the
distribution's name, a line of the group that is not ``name = value``, a ``METADATA``
header it would have to unfold. So the answer is always importlib.metadata's.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import re

#: The suffixes of a distribution's metadata directory (or, for old eggs, file).
_INFO_SUFFIXES = (".dist-info", ".egg-info")


class Unsure(Exception):
    """Something the scan does not read as importlib.metadata does: ask importlib.metadata."""


class EntryPoint:
    """One entry point of the group: ``name = value``, from a distribution (name, version)."""

    __slots__ = ("name", "value", "distribution", "version", "_load")

    def __init__(
        self,
        name: str,
        value: str,
        distribution: str | None,
        version: str | None,
        load: Callable[[], object] | None = None,
    ) -> None:
        self.name = name
        self.value = value
        self.distribution = distribution
        self.version = version
        self._load = load

    def load(self) -> object:
        """Import the module ``value`` names, then the attribute after its ``:`` if any
        (importlib.metadata's ``EntryPoint.load``)."""
        if self._load is not None:
            return self._load()
        import functools
        import importlib

        match = _value_pattern().match(self.value)
        if match is None:  # whatever importlib.metadata makes of it, the same error
            from importlib.metadata import EntryPoint as Standard

            return Standard(self.name, self.value, "").load()
        module = importlib.import_module(match.group("module"))
        attrs = filter(None, (match.group("attr") or "").split("."))
        return functools.reduce(getattr, attrs, module)

    def __repr__(self) -> str:
        return f"EntryPoint({self.name!r}, {self.value!r}, {self.distribution!r}, {self.version!r})"


def entry_points(group: str) -> list[EntryPoint]:
    """The entry points of ``group`` that ``importlib.metadata.entry_points(group=group)``
    gives, in its order, each with its distribution's ``Name`` and ``Version``."""
    try:
        return _scan(group)
    except Unsure:
        return _from_importlib(group)


def _scan(group: str) -> list[EntryPoint]:
    for finder in sys.meta_path:
        if getattr(finder, "find_distributions", None) is not None and not _is_path_finder(finder):
            raise Unsure(f"{finder!r} finds distributions")
    found: list[EntryPoint] = []
    seen: set[str] = set()
    for entry in sys.path:
        for name, path in _distributions_in(entry):
            if name in seen:
                continue
            seen.add(name)
            pairs = _group_pairs(_read(os.path.join(path, "entry_points.txt")), group)
            if pairs:
                dist, version = _name_and_version(path)
                found += (EntryPoint(n, v, dist, version) for n, v in pairs)
    return found


def _is_path_finder(finder: object) -> bool:
    import importlib.machinery

    return finder is importlib.machinery.PathFinder


def _distributions_in(entry: object) -> list[tuple[str, str]]:
    """The metadata directories in one ``sys.path`` entry, each with its normalized
    distribution name, grouped by name as importlib.metadata's ``Lookup`` groups them."""
    if not isinstance(entry, str):
        raise Unsure(f"sys.path entry {entry!r}")
    if os.path.basename(entry).lower().endswith(".egg"):
        raise Unsure(f"egg on sys.path: {entry}")
    try:
        children = os.listdir(entry or ".")
    except Exception:
        if os.path.isfile(entry):  # importlib.metadata looks into zip files
            raise Unsure(f"file on sys.path: {entry}") from None
        return []
    by_name: dict[str, list[str]] = {}
    for child in children:
        if not child.lower().endswith(_INFO_SUFFIXES):
            continue
        stem, dot, suffix = child.rpartition(".")
        name = stem.partition("-")[0]
        if "." + suffix not in _INFO_SUFFIXES or not name.strip("."):
            # importlib.metadata would name it from its METADATA instead
            raise Unsure(f"distribution not named by its directory: {child}")
        by_name.setdefault(_normalize(name), []).append(os.path.join(entry, child))
    return [(name, path) for name, paths in by_name.items() for path in paths]


def _normalize(name: str) -> str:
    """PEP 503 normalization, dashes as underscores (importlib.metadata's ``Prepared``)."""
    import re

    return re.sub(r"[-_.]+", "-", name).lower().replace("-", "_")


def _read(path: str) -> str | None:
    """A metadata file's text, or None where importlib.metadata's ``read_text`` gives None."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError):
        return None
    except UnicodeDecodeError:
        raise Unsure(f"not UTF-8: {path}") from None


def _group_pairs(text: str | None, group: str) -> list[tuple[str, str]]:
    """The ``name = value`` lines of section ``[group]`` (importlib.metadata's ``Sectioned``)."""
    if not text or group not in text:
        return []
    pairs = []
    section = None
    for line in map(str.strip, text.splitlines()):
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line.strip("[]")
        elif section is not None:
            name, equals, value = line.partition("=")
            if not equals:
                raise Unsure(f"not name = value: {line!r}")
            if section == group:
                pairs.append((name.strip(), value.strip()))
    return pairs


def _name_and_version(path: str) -> tuple[str, str]:
    """A distribution's ``Name`` and ``Version`` from the headers of its ``METADATA``
    (else ``PKG-INFO``, else the egg-info file itself), as the email parser reads them."""
    text = _read(os.path.join(path, "METADATA")) or _read(os.path.join(path, "PKG-INFO"))
    text = text or _read(path)
    if not text:
        raise Unsure(f"no metadata in {path}")
    headers: dict[str, str] = {}
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if not line:
            break
        if line[0] in " \t":  # the continuation of a folded header
            continue
        key, colon, value = line.partition(":")
        if not colon or not key or not all("!" <= c <= "~" for c in key):
            raise Unsure(f"a header the scan does not read: {line!r}")
        key = key.lower()
        if key in ("name", "version") and key not in headers:
            if lines[index + 1 : index + 2] and lines[index + 1][:1] in (" ", "\t"):
                raise Unsure(f"a folded {key} header in {path}")
            headers[key] = value.lstrip(" \t")
    if "name" not in headers or "version" not in headers:
        raise Unsure(f"no Name or Version in {path}")
    return headers["name"], headers["version"]


def _value_pattern() -> re.Pattern[str]:
    import re

    return re.compile(
        r"(?P<module>[\w.]+)\s*"
        r"(:\s*(?P<attr>[\w.]+)\s*)?"
        r"((?P<extras>\[.*\])\s*)?$"
    )


def _from_importlib(group: str) -> list[EntryPoint]:
    from importlib.metadata import entry_points as standard

    found = []
    for ep in standard(group=group):
        dist = ep.dist
        metadata = getattr(dist, "metadata", None)
        name = metadata["Name"] if metadata is not None else None
        found.append(EntryPoint(ep.name, ep.value, name, dist.version if dist else None, ep.load))
    return found

"""The entry-point scan answers what importlib.metadata answers, without importing it.

Distributions are laid out as installers leave them (``*.dist-info`` directories with
``METADATA`` and ``entry_points.txt``, ``*.egg-info`` directories and files) in temporary
``sys.path`` directories; each case is asked of both ``ao_core.entrypoints`` and
``importlib.metadata.entry_points(group=...)``, and whether the scan answered itself or
handed the case to importlib.metadata is checked too. Real ``pip install`` and ``pip
uninstall`` of plugins are in ``test_third_party.py``.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import re
import sys
import zipfile
from pathlib import Path

import pytest

from ao_core import entrypoints

GROUP = "ao.plugins"


def dist_info(
    where: Path,
    name: str,
    version: str,
    entry_points: str | None,
    *,
    directory: str | None = None,
    metadata: str | None = None,
) -> Path:
    """A ``NAME-VERSION.dist-info`` directory as pip writes it."""
    info = where / (directory or f"{name.replace('-', '_')}-{version}.dist-info")
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        metadata or f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nReadme.\n"
    )
    if entry_points is not None:
        (info / "entry_points.txt").write_text(entry_points)
    return info


def standard(group: str = GROUP) -> list[tuple[str, str, str | None, str | None]]:
    importlib.invalidate_caches()  # importlib.metadata caches listings by mtime
    return [
        (ep.name, ep.value, ep.dist.metadata["Name"], ep.dist.version)
        for ep in importlib.metadata.entry_points(group=group)
    ]


def scanned(group: str = GROUP) -> list[tuple[str, str, str | None, str | None]]:
    return [(ep.name, ep.value, ep.distribution, ep.version) for ep in entrypoints._scan(group)]


@pytest.fixture
def paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Three empty directories in front of sys.path."""
    dirs = [tmp_path / name for name in ("first", "second", "third")]
    for directory in dirs:
        directory.mkdir()
    monkeypatch.setattr(sys, "path", [*map(str, dirs), *sys.path])
    return dirs


def test_finds_what_importlib_metadata_finds(paths: list[Path]) -> None:
    dist_info(paths[0], "ao-alpha", "1.0", "[ao.plugins]\nalpha = ao_alpha:Backend\n")
    dist_info(
        paths[0],
        "ao-beta",
        "2.0rc1",
        "[console_scripts]\nbeta = ao_beta:main\n\n[ao.plugins]\n# a comment\n"
        "beta=ao_beta\n  gamma  =  ao_beta.other : Gamma [extra]  \n",
    )
    dist_info(paths[1], "unrelated", "3", "[console_scripts]\nx = y:z\n")
    dist_info(paths[1], "no-entry-points", "4", None)
    expected = [
        ("alpha", "ao_alpha:Backend", "ao-alpha", "1.0"),
        ("beta", "ao_beta", "ao-beta", "2.0rc1"),
        ("gamma", "ao_beta.other : Gamma [extra]", "ao-beta", "2.0rc1"),
    ]
    found = scanned()
    assert sorted(e for e in found if e[2].startswith("ao-")) == expected
    assert found == standard()


def test_the_first_distribution_of_a_name_on_sys_path_wins(paths: list[Path]) -> None:
    dist_info(paths[0], "ao-dup", "2.0", "[ao.plugins]\ndup = ao_dup_two\n")
    dist_info(paths[1], "ao_dup", "1.0", "[ao.plugins]\ndup = ao_dup_one\n")
    # a later copy without the group is shadowed too: and shadows, when first
    dist_info(paths[2], "AO.Dup", "0.5", "[ao.plugins]\nold = ao_dup_old\n")
    assert scanned() == standard() == [("dup", "ao_dup_two", "ao-dup", "2.0")]


def test_a_first_copy_without_the_group_hides_a_later_one_with_it(paths: list[Path]) -> None:
    dist_info(paths[0], "ao-hidden", "9.0", None)
    dist_info(paths[1], "ao-hidden", "1.0", "[ao.plugins]\nhidden = ao_hidden\n")
    assert scanned() == standard() == []


def test_two_distributions_with_the_same_entry_point_name_are_both_listed(
    paths: list[Path],
) -> None:
    dist_info(paths[0], "ao-one", "1", "[ao.plugins]\nsame = ao_one\n")
    dist_info(paths[1], "ao-two", "1", "[ao.plugins]\nsame = ao_two\n")
    assert [e[1] for e in scanned()] == [e[1] for e in standard()] == ["ao_one", "ao_two"]


def test_sections_are_read_as_importlib_metadata_reads_them(paths: list[Path]) -> None:
    text = (
        "stray = before_any_section\n[ao.plugins.extra]\nnot_this = x\n"
        "[[ao.plugins]]\nbracketed = ao_b\n[ ao.plugins ]\nspaced = ao_s\n"
        "[ao.plugins]\n\n   ; semicolon = kept\nlast = ao_last=more\n"
    )
    dist_info(paths[0], "ao-sections", "1", text)
    assert scanned() == standard()
    assert [e[0] for e in scanned()] == ["bracketed", "; semicolon", "last"]


def test_egg_info_directories_and_files_count(paths: list[Path]) -> None:
    egg = paths[0] / "ao_egg-0.3-py3.11.egg-info"
    egg.mkdir()
    (egg / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: ao-egg\nVersion: 0.3\n")
    (egg / "entry_points.txt").write_text("[ao.plugins]\negg = ao_egg\n")
    (paths[0] / "ao_file-1.egg-info").write_text(
        "Metadata-Version: 1.0\nName: ao-file\nVersion: 1\n"
    )
    assert scanned() == standard()
    assert ("egg", "ao_egg", "ao-egg", "0.3") in scanned()


def test_metadata_headers_as_the_email_parser_reads_them(paths: list[Path]) -> None:
    metadata = (
        "Metadata-Version: 2.1\nLicense: MIT\n        with a folded line\nName:   ao-headers  \n"
        "Version:\t1.2.3\nName: a-second-name-is-ignored\nSummary: x\n\nName: body\n"
    )
    dist_info(paths[0], "ao-headers", "1.2.3", "[ao.plugins]\nh = ao_h\n", metadata=metadata)
    assert scanned() == standard() == [("h", "ao_h", "ao-headers  ", "1.2.3")]


@pytest.mark.parametrize(
    "case",
    [
        "folded name",
        "no version",
        "not a header",
        "no metadata",
        "not utf-8",
        "line without =",
        "uppercase suffix",
        "nameless directory",
    ],
)
def test_what_the_scan_does_not_read_is_left_to_importlib_metadata(
    paths: list[Path], monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    group = "[ao.plugins]\nodd = ao_odd\n"
    if case == "folded name":
        dist_info(paths[0], "ao-odd", "1", group, metadata="Name: ao-\n odd\nVersion: 1\n")
    elif case == "no version":
        dist_info(paths[0], "ao-odd", "1", group, metadata="Name: ao-odd\n")
    elif case == "not a header":
        dist_info(paths[0], "ao-odd", "1", group, metadata="Name: ao-odd\nVersion 1\n")
    elif case == "no metadata":
        (dist_info(paths[0], "ao-odd", "1", group) / "METADATA").unlink()
    elif case == "not utf-8":
        dist_info(paths[0], "ao-odd", "1", None)
        (paths[0] / "ao_odd-1.dist-info" / "entry_points.txt").write_bytes(b"[ao.plugins]\n\xff\n")
    elif case == "line without =":
        dist_info(paths[0], "ao-odd", "1", "[ao.plugins]\nodd\n")
    elif case == "uppercase suffix":
        dist_info(paths[0], "ao-odd", "1", group, directory="ao_odd-1.DIST-INFO")
    elif case == "nameless directory":
        dist_info(paths[0], "ao-odd", "1", group, directory="-1.dist-info")
    handed: list[str] = []
    ask = entrypoints._from_importlib
    monkeypatch.setattr(entrypoints, "_from_importlib", lambda g: handed.append(g) or ask(g))
    with pytest.raises(entrypoints.Unsure):
        entrypoints._scan(GROUP)
    try:
        expected = standard()
    except Exception as exc:  # importlib.metadata fails on it too: then the same way
        with pytest.raises(type(exc)):
            entrypoints.entry_points(GROUP)
    else:
        found = entrypoints.entry_points(GROUP)
        assert [(e.name, e.value, e.distribution, e.version) for e in found] == expected
    assert handed == [GROUP]


def test_a_zip_on_sys_path_is_left_to_importlib_metadata(
    paths: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = paths[0] / "plugins.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ao_zipped-1.dist-info/METADATA", "Name: ao-zipped\nVersion: 1\n")
        zf.writestr("ao_zipped-1.dist-info/entry_points.txt", "[ao.plugins]\nzipped = ao_z\n")
    monkeypatch.setattr(sys, "path", [str(archive), *sys.path])
    found = entrypoints.entry_points(GROUP)
    assert [(e.name, e.value, e.distribution, e.version) for e in found] == standard()
    assert ("zipped", "ao_z") in [(e.name, e.value) for e in found]


def test_a_finder_with_distributions_of_its_own_is_left_to_importlib_metadata(
    paths: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = paths[2] / "elsewhere"
    dist_info(elsewhere, "ao-found", "5", "[ao.plugins]\nfound = ao_found\n")

    class Finder:
        @staticmethod
        def find_spec(*args: object) -> None:
            return None

        @staticmethod
        def find_distributions(context: object = None) -> list[importlib.metadata.Distribution]:
            return [importlib.metadata.PathDistribution(next(elsewhere.iterdir()))]

    monkeypatch.setattr(sys, "meta_path", [Finder, *sys.meta_path])
    with pytest.raises(entrypoints.Unsure):
        entrypoints._scan(GROUP)
    found = entrypoints.entry_points(GROUP)
    assert [(e.name, e.value, e.distribution, e.version) for e in found] == standard()
    assert ("found", "ao_found", "ao-found", "5") in standard()


def test_a_missing_directory_and_the_current_one(paths: list[Path], monkeypatch) -> None:
    dist_info(paths[1], "ao-here", "1", "[ao.plugins]\nhere = ao_here\n")
    monkeypatch.setattr(sys, "path", [str(paths[0] / "missing"), "", *sys.path])
    assert scanned() == standard()
    assert ("here", "ao_here", "ao-here", "1") in scanned()


def test_load_imports_what_the_value_names(paths: list[Path], monkeypatch) -> None:
    package = paths[0] / "ao_loaded"
    package.mkdir()
    (package / "__init__.py").write_text("class Outer:\n    class Inner:\n        pass\n")
    (paths[0] / "ao_loaded_plain.py").write_text("")
    text = "[ao.plugins]\nnested = ao_loaded:Outer.Inner\nplain = ao_loaded_plain [extra]\n"
    dist_info(paths[0], "ao-loaded", "1", text)
    importlib.invalidate_caches()
    loaded = {ep.name: ep.load() for ep in entrypoints.entry_points(GROUP)}
    standard_loaded = {ep.name: ep.load() for ep in importlib.metadata.entry_points(group=GROUP)}
    assert loaded["nested"] is standard_loaded["nested"] is sys.modules["ao_loaded"].Outer.Inner
    assert loaded["plain"] is standard_loaded["plain"] is sys.modules["ao_loaded_plain"]
    for module in ("ao_loaded", "ao_loaded_plain"):
        monkeypatch.delitem(sys.modules, module)


def test_a_value_that_is_no_module_fails_as_importlib_metadata_fails(paths: list[Path]) -> None:
    dist_info(paths[0], "ao-bad", "1", "[ao.plugins]\nbad = not a module!\n")
    (ours,) = [ep for ep in entrypoints.entry_points(GROUP) if ep.name == "bad"]
    (theirs,) = [ep for ep in importlib.metadata.entry_points(group=GROUP) if ep.name == "bad"]
    with pytest.raises(Exception) as expected:
        theirs.load()
    with pytest.raises(expected.type, match=re.escape(str(expected.value))):
        ours.load()


def test_this_environment_is_read_without_importlib_metadata() -> None:
    """The environment the suite runs in (pytest, pip, setuptools ...) needs no fallback,
    and every group in it is found as importlib.metadata finds it."""
    groups = {ep.group for dist in importlib.metadata.distributions() for ep in dist.entry_points}
    assert "console_scripts" in groups
    for group in sorted(groups | {GROUP}):
        assert scanned(group) == standard(group), group

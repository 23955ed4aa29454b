"""Every `storydesk ...` command line shown in the docs names a real command and real options."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from storydesk.cli import cli

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)


def documented_commands(path: Path) -> list[list[str]]:
    """The argument lists of `storydesk` lines inside the file's fenced code blocks."""
    out = []
    for block in _FENCE.findall(path.read_text(encoding="utf-8")):
        for line in block.splitlines():
            line = line.split("  #", 1)[0].strip()
            if line.startswith(("storydesk ", "$ storydesk ")):
                out.append(shlex.split(line.removeprefix("$ "))[1:])
    return out


def unknown_options(args: list[str]) -> list[str]:
    """Options (and the subcommand) in ``args`` that the CLI does not define."""
    args = _without_group_options(args)
    name = next((a for a in args if not a.startswith("-")), None)
    command = cli.commands.get(name) if name else None
    if command is None:
        return [f"command {name!r}"]
    known = {o for p in command.params for o in (*p.opts, *p.secondary_opts)} | {"--help"}
    return [a for a in args if a.startswith("-") and a != "-" and a.split("=", 1)[0] not in known]


def _without_group_options(args: list[str]) -> list[str]:
    """Drop options given before the subcommand (``storydesk --db x.db stories``), with their values."""
    takes_value = {o: not getattr(p, "is_flag", False) for p in cli.params for o in p.opts}
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
        elif a in takes_value and not out:
            skip = takes_value[a]
        else:
            out.append(a)
    return out


def test_docs_show_storydesk_commands():
    assert documented_commands(ROOT / "docs" / "scale.md"), "docs/scale.md shows no storydesk command"


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_documented_commands_and_options_exist(path):
    bad = {" ".join(args): unknown for args in documented_commands(path) if (unknown := unknown_options(args))}
    assert not bad, f"{path.name}: {bad}"


def test_the_check_catches_a_wrong_option():
    assert unknown_options(["analyze", "--clusters", "local:2"]) == ["--clusters"]
    assert unknown_options(["analyse"]) == ["command 'analyse'"]
    assert not unknown_options(["--db", "x.db", "analyze", "--cluster", "local:2", "-q"])
    assert isinstance(cli, click.Group)


_PATH = re.compile(r"(?<![\w/.])(storydesk/[\w/.-]*\w/?)")
_DOTTED = re.compile(r"(?<![\w/.])(storydesk(?:\.[A-Za-z_]\w*)+)")
_TEXTS = [*DOCS, ROOT / "training" / "README.md", *sorted((ROOT / "storydesk" / "data").glob("*.json"))]


def named_paths(text: str) -> set[str]:
    return {p for p in _PATH.findall(text) if not p.endswith(".db")}


def resolves(dotted: str) -> bool:
    """``storydesk.a.b.name``: modules of this checkout as far as they go, then attributes."""
    import importlib
    import importlib.util
    parts = dotted.split(".")
    obj, n = None, 0
    while n < len(parts):
        name = ".".join(parts[:n + 1])
        spec = importlib.util.find_spec(name) if obj is None or hasattr(obj, "__path__") else None
        if spec is None:
            break
        if not Path(spec.origin).resolve().is_relative_to(ROOT):
            return False  # an editable install of another checkout answers for a module gone from this one
        obj, n = importlib.import_module(name), n + 1
    for attr in parts[n:]:
        if not hasattr(obj, attr):
            return False
        obj = getattr(obj, attr)
    return obj is not None


@pytest.mark.parametrize("path", _TEXTS, ids=lambda p: p.name)
def test_module_paths_in_the_docs_exist(path):
    text = path.read_text(encoding="utf-8")
    missing = sorted(p for p in named_paths(text) if not (ROOT / p).exists())
    unknown = sorted(d for d in set(_DOTTED.findall(text)) - {"storydesk.db"} if not resolves(d))
    assert not missing and not unknown, f"{path.name}: no such file {missing}, no such module or name {unknown}"


def test_the_path_check_catches_a_moved_module():
    assert named_paths("see `storydesk/claims.py` and [x](storydesk/data/flags.json)") == {
        "storydesk/claims.py", "storydesk/data/flags.json"}
    assert not (ROOT / "storydesk/claims.py").exists()
    assert resolves("storydesk.analysis.timex.tag") and not resolves("storydesk.timex.tag")

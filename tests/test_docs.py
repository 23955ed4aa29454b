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

"""One output sanitiser for everything article-derived that reaches a terminal or a Markdown file.

Articles are written by strangers: a title may hold ESC sequences that retitle or clear the
terminal, a bidi override that reverses what follows, a file name may hold a newline that
prints as a second, forged log line. Control characters are shown escaped (``\\x1b``,
``\\u202e``), never written raw. JSON output keeps valid escapes (``\\u001b``).
"""
from __future__ import annotations

import re

# C0 and C1 controls, DEL, and the Unicode format characters that reorder or hide text
# (bidi embeddings/overrides/isolates, line/paragraph separators).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]")
_CONTROL_NEWLINES = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_PLAIN_PATH = re.compile(r"[\w./@+,:=~%-]+")


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def terminal(text, *, newlines: bool = True) -> str:
    """``text`` safe to print: controls escaped; newlines and tabs kept unless ``newlines=False``."""
    text = "" if text is None else str(text)
    text = _SURROGATE.sub("\ufffd", text)
    pattern = _CONTROL if newlines else _CONTROL_NEWLINES
    return pattern.sub(lambda m: _escape(m.group()), text)


def line(text) -> str:
    """One-line field (title, outlet, reason): newlines and tabs escaped too."""
    return terminal(text, newlines=False)


def json_text(text: str) -> str:
    """JSON already escapes C0 controls; also escape C1 and bidi characters, as valid ``\\uXXXX``."""
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", _SURROGATE.sub("\ufffd", text))


def path(name) -> str:
    """A file name for a message: as is when plain, else quoted with its odd characters escaped."""
    name = "" if name is None else str(name)
    if name and _PLAIN_PATH.fullmatch(name):
        return name
    return "'" + line(name).replace("'", "\\'") + "'"


def echo(text="", **kwargs) -> None:
    """``click.echo`` of sanitised text (the CLI prints through this and ``secho``)."""
    import click

    click.echo(terminal(text), **kwargs)


def secho(text="", **kwargs) -> None:
    import click

    click.secho(terminal(text), **kwargs)


def echo_json(text: str, **kwargs) -> None:
    import click

    click.echo(json_text(text), **kwargs)

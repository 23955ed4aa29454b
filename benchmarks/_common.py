"""Helpers shared by the benchmark scripts (not a test module)."""
from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def shared(*parts: str) -> Path | None:
    """Path under ../shared, or None (with a message) when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        print(f"skip: {path.relative_to(SHARED.parent)} is absent (../shared is not part of the repository)")
        return None
    return path


def print_table(title: str, headers: list[str], rows: list[list]) -> None:
    """Print a plain metrics table."""
    cells = [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)))
    sys.stdout.flush()


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if value < 100 else f"{value:.1f}"
    return str(value)


def bcubed(gold: list, pred: list) -> tuple[float, float, float]:
    """B-cubed precision, recall and F1 of a clustering (one label per item)."""
    pairs = Counter(zip(gold, pred))
    gsize, psize = Counter(gold), Counter(pred)
    p = sum(c * c / psize[pl] for (gl, pl), c in pairs.items()) / len(gold)
    r = sum(c * c / gsize[gl] for (gl, pl), c in pairs.items()) / len(gold)
    return p, r, 2 * p * r / (p + r) if p + r else 0.0


def importable(name: str) -> bool:
    """Whether a module can be imported (False also when it was blocked in ``sys.modules``)."""
    import importlib.util
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False

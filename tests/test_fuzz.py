"""A bounded run of benchmarks/fuzz.py: every reader on mutated and generated inputs (fixed seed).

The full run (>= 2,000 inputs per format) is ``python benchmarks/fuzz.py``; this one is a few
hundred inputs, each in a forked child with memory and time limits, and it must find nothing:
no exception other than storydesk's named errors, no input over 5 CPU-s. A child is stopped at 30
CPU-s (RLIMIT_CPU), or at 300 wall seconds if it stops computing: a wall limit of 30 s alone once
killed a WARC input that had used under 1 CPU-s on a busy machine.
"""
from __future__ import annotations

import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import fuzz  # noqa: E402


@pytest.mark.parametrize("fmt", fuzz.FORMATS)
def test_bounded_fuzz_finds_no_unnamed_exception_and_no_hang(fmt):
    tally = fuzz.fuzz(40, seed=7, formats=(fmt,), jobs=2, slow=5.0, kill=30.0)[fmt]
    assert tally.inputs == 40
    assert tally.other == 0 and tally.hangs == 0, tally.examples
    assert tally.ok > 0  # the mutations still leave readable inputs: the fuzz is not all noise

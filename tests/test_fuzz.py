"""A bounded run of benchmarks/fuzz.py: every reader on mutated and generated inputs (fixed seed).

The full run (>= 2,000 inputs per format) is ``python benchmarks/fuzz.py``; this one is a few
hundred inputs, each in a forked child with memory and time limits, and it must find nothing:
no exception other than storydesk's named errors, no input over 5 s.
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

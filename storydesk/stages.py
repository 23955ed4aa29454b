"""The one place where stages are registered: importing a module registers its stages.

Order here does not matter; the pipeline orders stages by what they need and add.
"""
from __future__ import annotations

import importlib

STAGE_MODULES = ()


def load() -> None:
    for name in STAGE_MODULES:
        importlib.import_module(f"storydesk.{name}")


load()

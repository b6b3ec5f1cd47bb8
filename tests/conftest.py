from __future__ import annotations

import pytest

from planner.schedules.timeline import DEFAULT_TIMELINE, load_timeline


@pytest.fixture(scope="session")
def shipped():
    """The shipped canonical timeline (real JWST schedules, Cycle 2 and around it)."""
    return load_timeline(DEFAULT_TIMELINE)

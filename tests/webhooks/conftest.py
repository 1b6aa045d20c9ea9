"""A loopback receiver per test."""

from __future__ import annotations

import pytest

from .receiver import Receiver


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()

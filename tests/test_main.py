"""The application's start: what it does once per process."""

import gc

from app.main import freeze_startup_objects


def test_startup_objects_are_frozen_once_out_of_the_collectors_sight() -> None:
    freeze_startup_objects()
    frozen = gc.get_freeze_count()
    assert frozen > 10_000
    freeze_startup_objects()  # once per process: later calls change nothing
    assert gc.get_freeze_count() == frozen

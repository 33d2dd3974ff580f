"""The helper thread that runs half of a search."""

from __future__ import annotations

import threading

import pytest

from app.matching.helper import Helper


def test_second_half_runs_in_the_helper_thread() -> None:
    helper = Helper()
    first, second = helper.both(
        lambda: threading.current_thread().name, lambda: threading.current_thread().name
    )
    assert first == threading.current_thread().name
    assert second.startswith("match-helper")


def test_a_busy_helper_leaves_both_halves_to_the_caller() -> None:
    helper = Helper()
    inside = threading.Event()
    release = threading.Event()
    names: list[tuple[str, str]] = []

    def hold() -> str:
        inside.set()
        release.wait(5)
        return "held"

    holder = threading.Thread(target=lambda: helper.both(lambda: "first", hold))
    holder.start()
    assert inside.wait(5)
    try:
        names.append(
            helper.both(
                lambda: threading.current_thread().name, lambda: threading.current_thread().name
            )
        )
    finally:
        release.set()
        holder.join(5)
    me = threading.current_thread().name
    assert names == [(me, me)]


def test_an_error_in_either_half_is_raised_after_both_have_stopped() -> None:
    helper = Helper()
    finished = threading.Event()

    def slow() -> int:
        threading.Event().wait(0.05)
        finished.set()
        return 2

    def fail() -> int:
        raise ValueError("first")

    with pytest.raises(ValueError, match="first"):
        helper.both(fail, slow)
    assert finished.is_set()  # the caller's buffers are not in use any more
    with pytest.raises(ValueError, match="second"):
        helper.both(lambda: 1, lambda: (_ for _ in ()).throw(ValueError("second")))
    assert helper.both(lambda: 1, lambda: 2) == (1, 2)  # and it is free again


@pytest.mark.parametrize(("cores", "threads"), [({0}, 1), ({0, 1}, 2), (set(range(8)), 2)])
def test_default_threads_follow_the_cores_the_process_may_use(
    monkeypatch: pytest.MonkeyPatch, cores: set[int], threads: int
) -> None:
    import os

    from app.matching.helper import default_threads

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: cores)
    assert default_threads() == threads

"""BackgroundIterator: order, bounded look-ahead, errors in place, early close."""

import threading
import time

import pytest

from mmseg_l2g.stage2.prefetch import BackgroundIterator

WAIT_S = 30  # bound for events on a busy machine; never a timing assertion


def prefetch_threads_alive() -> list:
    return [t for t in threading.enumerate() if t.name == "l2g-prefetch"]


def test_items_in_order_then_the_thread_ends():
    with BackgroundIterator(range(50), depth=3) as items:
        assert list(items) == list(range(50))
    assert not prefetch_threads_alive()


def test_looks_ahead_at_most_depth_items():
    produced = []

    def source():
        for index in range(10):
            produced.append(index)
            yield index

    items = BackgroundIterator(source(), depth=2)
    try:
        assert next(items) == 0
        # Wait until the producer is blocked: 0 consumed, 2 queued, item 3 made and waiting.
        for _ in range(WAIT_S * 100):
            if len(produced) >= 4:
                break
            time.sleep(0.01)
        assert produced == [0, 1, 2, 3]  # no further than depth ahead
        assert list(items) == list(range(1, 10))
    finally:
        items.close()


def test_error_raised_at_its_place():
    def source():
        yield 1
        yield 2
        raise OSError("cannot read img_003.jpg")

    items = BackgroundIterator(source(), depth=4)
    assert next(items) == 1 and next(items) == 2
    with pytest.raises(OSError, match="img_003"):
        next(items)
    with pytest.raises(StopIteration):
        next(items)
    assert not prefetch_threads_alive()


def test_close_stops_an_endless_source():
    def endless():
        index = 0
        while True:
            yield index
            index += 1

    with BackgroundIterator(endless(), depth=2) as items:
        assert [next(items) for _ in range(5)] == [0, 1, 2, 3, 4]
    assert not prefetch_threads_alive()
    with pytest.raises(StopIteration):
        next(items)


def test_bad_depth():
    with pytest.raises(ValueError):
        BackgroundIterator([], depth=0)

"""Iterating on a background thread, a bounded number of items ahead.

Stage 2 on a GPU loads the next batches (JPEG decoding, which releases the
GIL) while the network runs, without the start-up of worker processes (a
fork of a large CUDA process) or the pickling of every image through a pipe.
"""

from __future__ import annotations

import queue
import threading
from typing import Any, Generic, Iterable, Iterator, Optional, Tuple, TypeVar

T = TypeVar("T")
_END = object()
_POLL_S = 0.05


class BackgroundIterator(Generic[T]):
    """Runs an iterable on a thread, at most ``depth`` items ahead of the consumer.

    An exception raised by the iterable is raised by ``next`` at its place in
    the sequence. :meth:`close` (or leaving the ``with`` block) stops the
    thread; items not consumed are discarded.

    Args:
        iterable: what to iterate (its ``iter`` is taken in the caller's
            thread, e.g. a DataLoader starting its workers).
        depth: items loaded ahead at most (>= 1).
    """

    def __init__(self, iterable: Iterable[T], depth: int = 2) -> None:
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self._items: queue.Queue[Tuple[Any, Optional[BaseException]]] = queue.Queue(depth)
        self._stop = threading.Event()
        self._done = False
        self._thread = threading.Thread(
            target=self._fill, args=(iter(iterable),), name="l2g-prefetch", daemon=True
        )
        self._thread.start()

    def _fill(self, source: Iterator[T]) -> None:
        """The thread: puts each item (or the error, or the end) into the queue."""
        try:
            for item in source:
                if not self._put((item, None)):
                    return
            self._put((_END, None))
        except BaseException as exc:  # noqa: BLE001  (raised in the consumer)
            self._put((_END, exc))

    def _put(self, entry: Tuple[Any, Optional[BaseException]]) -> bool:
        """Puts an entry, waiting for room; ``False`` when stopped meanwhile."""
        while not self._stop.is_set():
            try:
                self._items.put(entry, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> BackgroundIterator[T]:
        return self

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        item, error = self._items.get()
        if item is _END:
            self._done = True
            self._thread.join()
            if error is not None:
                raise error
            raise StopIteration
        return item

    def close(self) -> None:
        """Stops the thread (idempotent); items not consumed are dropped."""
        self._done = True
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> BackgroundIterator[T]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Closes, whatever ended the ``with`` block."""
        self.close()

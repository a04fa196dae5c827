"""Output files written on background threads, in order per folder, with bounded memory.

Stage 2 hands every output file (mask PNG, CAM npz, overlay JPEG) to an
:class:`AsyncWriter` so that encoding and writing overlap the network's
forward passes. The guarantees the synchronous code gave stay:

- **order per folder**: the files of one folder are written one at a time, in
  the order they were submitted (each folder is a lane served by one thread),
  so a folder always holds a prefix of its files, as before;
- **bounded memory**: at most ``max_pending`` writes are queued or running;
  :meth:`AsyncWriter.submit` blocks until one finishes;
- **errors surface, naming the file**: a failed write stops the writer (the
  writes submitted after it are dropped; those before it are still done, as
  they would have been by a synchronous writer) and the next :meth:`~AsyncWriter.submit`,
  :meth:`~AsyncWriter.wait` or :meth:`~AsyncWriter.close` raises it. An
  ``OSError`` that names the path is raised as it is; any other error is
  raised as an ``OSError`` naming the path, chained to the original;
- **nothing left pending**: :meth:`~AsyncWriter.close` (and leaving the
  ``with`` block) returns only when every write has finished or failed.

Atomicity is the write callables' own (they write through :mod:`mmseg_l2g.io`).
"""

from __future__ import annotations

import os.path as osp
import queue
import threading
from types import TracebackType
from typing import Callable, Dict, List, Optional, Tuple, Type

DEFAULT_MAX_PENDING = 32

_Task = Tuple[int, str, Callable[[], None]]


class AsyncWriter:
    """Runs file writes on a small pool of threads.

    Args:
        num_threads: writer threads; 0 runs each write in the caller's thread
            at :meth:`submit` (the synchronous behaviour).
        max_pending: writes queued or running at most (>= 1).
    """

    def __init__(self, num_threads: int = 2, max_pending: int = DEFAULT_MAX_PENDING) -> None:
        if num_threads < 0 or max_pending < 1:
            raise ValueError(
                f"num_threads must be >= 0 and max_pending >= 1, got {num_threads}, {max_pending}"
            )
        self.num_threads = num_threads
        self.max_pending = max_pending
        self.num_dropped = 0  # writes not done because one submitted before them failed
        self._slots = threading.Semaphore(max_pending)
        self._lock = threading.Condition()
        self._pending = 0
        self._submitted = 0
        self._failure: Optional[Tuple[int, str, BaseException]] = None
        self._reported = False
        self._closed = False
        self._lanes: Dict[str, int] = {}
        self._queues: List[queue.SimpleQueue[Optional[_Task]]] = [
            queue.SimpleQueue() for _ in range(num_threads)
        ]
        self._threads = [
            threading.Thread(target=self._serve, args=(tasks,), name=f"l2g-writer-{i}", daemon=True)
            for i, tasks in enumerate(self._queues)
        ]
        for thread in self._threads:
            thread.start()

    @property
    def pending(self) -> int:
        """Writes queued or running now."""
        with self._lock:
            return self._pending

    def submit(self, path: str, write: Callable[[], None]) -> None:
        """Queues ``write()``, which writes ``path``; blocks while ``max_pending`` are pending.

        Args:
            path: the file the callable writes (names it in errors; its folder
                picks the lane).
            write: writes the file; it must not depend on data the caller
                changes later.

        Raises:
            OSError: an earlier write failed (or, with no threads, this one).
            RuntimeError: the writer is closed.
        """
        if self._closed:
            raise RuntimeError("the writer is closed")
        self._raise_failure(again=True)
        with self._lock:
            index = self._submitted
            self._submitted += 1
        if not self._threads:
            self._run((index, path, write))
            self._raise_failure(again=True)
            return
        self._slots.acquire()
        with self._lock:
            stopped = self._failure is not None
            if stopped:
                self.num_dropped += 1
            else:
                self._pending += 1
        if stopped:
            self._slots.release()
            self._raise_failure(again=True)
        lane = self._lanes.setdefault(osp.dirname(osp.abspath(path)), len(self._lanes))
        self._queues[lane % len(self._queues)].put((index, path, write))

    def wait(self) -> None:
        """Blocks until every submitted write has finished or failed; raises a failure."""
        with self._lock:
            while self._pending:
                self._lock.wait()
        self._raise_failure()

    def close(self, raise_failure: bool = True) -> None:
        """Finishes every pending write and stops the threads (idempotent).

        Args:
            raise_failure: raise a write failure not raised yet.
        """
        if not self._closed:
            self._closed = True
            with self._lock:
                while self._pending:
                    self._lock.wait()
            for tasks in self._queues:
                tasks.put(None)
            for thread in self._threads:
                thread.join()
        if raise_failure:
            self._raise_failure()

    def __enter__(self) -> AsyncWriter:
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        """Closes; while another exception propagates, a write failure becomes its note."""
        self.close(raise_failure=exc is None)
        if exc is not None and self._failure is not None and not self._reported:
            self._reported = True
            exc.add_note(f"a background write failed too: {self._failure[2]}")

    def _serve(self, tasks: queue.SimpleQueue[Optional[_Task]]) -> None:
        """A writer thread: runs its lanes' tasks in order until told to stop."""
        while True:
            task = tasks.get()
            if task is None:
                return
            failure = self._failure
            try:
                if failure is None or task[0] < failure[0]:
                    self._run(task)  # submitted before any failed write: still done
                else:
                    with self._lock:
                        self.num_dropped += 1
            finally:
                self._slots.release()
                with self._lock:
                    self._pending -= 1
                    if not self._pending:
                        self._lock.notify_all()

    def _run(self, task: _Task) -> None:
        """Runs one write; records its failure (the earliest submitted one not yet raised)."""
        index, path, write = task
        try:
            write()
        except BaseException as exc:  # noqa: BLE001  (recorded, raised in the caller)
            with self._lock:
                if self._failure is None or (index < self._failure[0] and not self._reported):
                    self._failure = (index, path, _as_write_error(path, exc))

    def _raise_failure(self, again: bool = False) -> None:
        """Raises the recorded failure: once, or ``again`` when already raised."""
        with self._lock:
            if self._failure is None or (self._reported and not again):
                return
            self._reported = True
            error = self._failure[2]
        raise error


def _as_write_error(path: str, exc: BaseException) -> BaseException:
    """``exc`` when it is an ``OSError`` naming ``path``, else an ``OSError`` naming it."""
    if isinstance(exc, OSError) and path in str(exc):
        return exc
    if not isinstance(exc, Exception):
        return exc  # KeyboardInterrupt, SystemExit: kept as they are
    error = OSError(f"cannot write {path}: {type(exc).__name__}: {exc}")
    error.__cause__ = exc
    return error

"""AsyncWriter: order per folder, completion, errors naming the file, bounded queue."""

import errno
import os
import os.path as osp
import threading
import time

import pytest

from mmseg_l2g.stage2.async_writer import AsyncWriter

WAIT_S = 30  # generous bound for events on a busy machine; never a timing assertion


def writer_threads_alive() -> list:
    return [t for t in threading.enumerate() if t.name.startswith("l2g-writer")]


def write_file(path: str, data: bytes, log: list) -> None:
    with open(path, "wb") as f:
        f.write(data)
    log.append(path)


@pytest.mark.parametrize("num_threads", [0, 1, 3])
def test_every_write_done_in_order_per_folder(tmp_path, num_threads):
    folders = [tmp_path / name for name in ("masks", "cams", "vis")]
    for folder in folders:
        folder.mkdir()
    log = []
    expected = {}
    with AsyncWriter(num_threads, max_pending=4) as writer:
        for index in range(30):
            folder = folders[index % 3]
            path = str(folder / f"{index:03d}.bin")
            data = bytes([index]) * (index + 1)
            expected[path] = data
            writer.submit(path, lambda p=path, d=data: write_file(p, d, log))
    assert writer.pending == 0 and not writer_threads_alive()
    for path, data in expected.items():
        with open(path, "rb") as f:
            assert f.read() == data
    for folder in folders:  # each folder's files were written in submission order
        written = [p for p in log if osp.dirname(p) == str(folder)]
        assert written == sorted(p for p in expected if osp.dirname(p) == str(folder))
    with pytest.raises(RuntimeError, match="closed"):
        writer.submit(str(tmp_path / "late.bin"), lambda: None)


def test_one_folder_waits_for_its_blocked_write_others_go_on(tmp_path):
    release, log = threading.Event(), []

    def blocked(path: str) -> None:
        assert release.wait(WAIT_S)
        log.append(path)

    writer = AsyncWriter(num_threads=2)
    try:
        writer.submit(str(tmp_path / "a" / "0"), lambda: blocked("a/0"))
        writer.submit(str(tmp_path / "a" / "1"), lambda: log.append("a/1"))
        other_done = threading.Event()
        writer.submit(str(tmp_path / "b" / "0"), other_done.set)
        assert other_done.wait(WAIT_S)  # another folder is not held up by folder a
        assert log == []  # a/1 waits behind a/0
        release.set()
        writer.wait()
        assert log == ["a/0", "a/1"] and writer.pending == 0
    finally:
        release.set()
        writer.close()


@pytest.mark.parametrize("num_threads", [0, 2])
def test_failed_write_raises_naming_the_file_and_stops_the_rest(tmp_path, num_threads):
    target = str(tmp_path / "masks" / "img_002.png")
    os.makedirs(osp.dirname(target))
    disk_full = OSError(errno.ENOSPC, f"cannot write {target}: No space left on device")

    def fail() -> None:
        raise disk_full

    writer = AsyncWriter(num_threads)
    written = []
    with pytest.raises(OSError) as error:
        for index in range(8):
            path = str(tmp_path / "masks" / f"img_{index:03d}.png")
            writer.submit(path, fail if path == target else lambda p=path: written.append(p))
        writer.close()
    assert error.value is disk_full  # raised as it was: it names the file already
    writer.close()  # raised once: closing again does not raise it again
    assert not writer_threads_alive() and writer.pending == 0
    # The folder got its files up to the failed one, none after it.
    assert written == [str(tmp_path / "masks" / f"img_{i:03d}.png") for i in range(2)]


def test_failure_drops_only_the_writes_submitted_after_it(tmp_path):
    release, log = threading.Event(), []

    def blocked() -> None:
        assert release.wait(WAIT_S)
        log.append("a/0")

    def fail() -> None:
        raise OSError(errno.ENOSPC, f"cannot write {tmp_path / 'b' / '0'}: No space left")

    writer = AsyncWriter(num_threads=2)
    try:
        writer.submit(str(tmp_path / "a" / "0"), blocked)
        writer.submit(str(tmp_path / "a" / "1"), lambda: log.append("a/1"))
        writer.submit(str(tmp_path / "b" / "0"), fail)
        writer.submit(str(tmp_path / "a" / "2"), lambda: log.append("a/2"))
        deadline = time.monotonic() + WAIT_S
        while writer.pending > 3 and time.monotonic() < deadline:  # until b/0 has failed
            time.sleep(0.01)
        release.set()
        with pytest.raises(OSError, match="No space left"):
            writer.close()
    finally:
        release.set()
        writer.close(raise_failure=False)
    # Submitted before the failed write: done, as a synchronous writer would; after it: not.
    assert log == ["a/0", "a/1"] and writer.num_dropped == 1


def test_error_without_the_path_is_raised_as_oserror_naming_it(tmp_path):
    path = str(tmp_path / "vis" / "img_000.jpg")

    def encode_fails() -> None:
        raise ValueError("encoder gave up")

    with pytest.raises(OSError, match="encoder gave up") as error:
        with AsyncWriter(1) as writer:
            writer.submit(path, encode_fails)
    assert path in str(error.value) and isinstance(error.value.__cause__, ValueError)


def test_failure_is_raised_by_the_next_submit(tmp_path):
    def fail() -> None:
        raise OSError(errno.EACCES, f"cannot write {tmp_path / 'x' / '0'}: Permission denied")

    writer = AsyncWriter(1)
    writer.submit(str(tmp_path / "x" / "0"), fail)
    deadline = time.monotonic() + WAIT_S
    while writer.pending and time.monotonic() < deadline:  # the write has run and failed
        time.sleep(0.01)
    ran = []
    with pytest.raises(OSError, match="Permission denied"):
        writer.submit(str(tmp_path / "x" / "1"), lambda: ran.append(1))
    with pytest.raises(OSError, match="Permission denied"):  # and every later one
        writer.submit(str(tmp_path / "x" / "2"), lambda: ran.append(2))
    writer.close()
    assert ran == []


def test_queue_is_bounded(tmp_path):
    release = threading.Event()
    max_pending, seen = 3, []
    writer = AsyncWriter(num_threads=1, max_pending=max_pending)

    def task() -> None:
        seen.append(writer.pending)
        assert release.wait(WAIT_S)

    try:
        for index in range(max_pending):  # one running, two queued
            writer.submit(str(tmp_path / f"{index}"), task)
        assert writer.pending == max_pending
        extra = threading.Thread(target=writer.submit, args=(str(tmp_path / "extra"), task))
        extra.start()
        extra.join(0.5)
        assert extra.is_alive()  # the fourth submit waits for a free slot
        assert writer.pending == max_pending
        release.set()
        extra.join(WAIT_S)
        assert not extra.is_alive()
        writer.wait()
    finally:
        release.set()
        writer.close()
    assert max(seen) <= max_pending and len(seen) == max_pending + 1


def test_leaving_with_an_error_finishes_pending_writes_and_notes_a_failure(tmp_path):
    written = []
    with pytest.raises(KeyError) as error:
        with AsyncWriter(2) as writer:
            for index in range(5):
                writer.submit(str(tmp_path / "ok" / str(index)), lambda i=index: written.append(i))
            writer.submit(str(tmp_path / "bad" / "0"), lambda: 1 / 0)
            raise KeyError("model failed")
    # Leaving the block waited for every write, the failing one included.
    assert written == list(range(5)) and not writer_threads_alive()
    (note,) = error.value.__notes__
    assert str(tmp_path / "bad" / "0") in note and "ZeroDivisionError" in note


def test_bad_arguments():
    with pytest.raises(ValueError):
        AsyncWriter(num_threads=-1)
    with pytest.raises(ValueError):
        AsyncWriter(num_threads=1, max_pending=0)

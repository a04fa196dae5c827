"""Fixtures shared by every test folder."""

import logging

import pytest
from mmengine.logging import MMLogger


class LogRecords(logging.Handler):
    """Collects the messages MMLogger emits during a test."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.messages = []

    def emit(self, record) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def logs():
    """The messages the current MMLogger emits during the test (``logs.messages``)."""
    logger = MMLogger.get_current_instance()
    handler = LogRecords()
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


@pytest.fixture(scope="session")
def installed_wheel(tmp_path_factory):
    """mmseg_l2g installed from the checkout as a regular (non-editable) package.

    The checkout's files (tracked, and untracked ones git does not ignore) are copied
    to a temporary folder and ``pip install``-ed (no dependencies, no index) into a
    fresh virtual environment that sees this interpreter's packages (torch, mmseg).

    Returns:
        ``(python, outside)``: the environment's interpreter and an empty folder outside
        the checkout to run in.
    """
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parent.parent
    root = tmp_path_factory.mktemp("wheel")
    src, venv, outside = root / "src", root / "venv", root / "outside"
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=repo, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        if (repo / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(repo / name, src / name)
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)],
        check=True,
    )  # fmt: skip
    python = str(venv / ("Scripts" if os.name == "nt" else "bin") / "python")
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         "--no-index", str(src)],
        check=True, capture_output=True,
    )  # fmt: skip
    outside.mkdir()
    return python, outside

"""The one top-level error handler of the tools and the demo.

A user's mistake (a missing file, a bad argument, a checkpoint that does not
fit) ends the tool with one line on stderr, ``<tool>: error: <message>``, and
a non-zero exit status; the traceback goes to the tool's log file (the
current MMLogger's, when it has one) and, with ``--debug``, to stderr::

    def main(argv=None) -> int:
        args = parse_args(argv)
        return run_main("train.py", lambda: run(args), debug=args.debug)
"""

from __future__ import annotations

import argparse
import logging
import os.path as osp
import sys
import traceback
from typing import Any, Callable, Optional

# What a user's input can cause; anything else is reported as an internal error
# (still one line, the traceback in the log or with --debug).
USER_ERRORS = (OSError, ValueError, KeyError, TypeError, RuntimeError, ArithmeticError)
_LOGGED = "_l2g_traceback_logged"
DEBUG_HELP = "show the traceback of an error (default: one line; the traceback in the log)"


def add_debug_arg(parser: argparse.ArgumentParser) -> None:
    """Adds ``--debug`` (tracebacks on stderr)."""
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from exc
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text}")
    return value


def check_folder_arg(path: Optional[str], flag: str) -> None:
    """Refuses an output folder that is a file or lies under one (``None`` passes).

    Raises:
        NotADirectoryError: naming the flag, the folder and the file in its way.
    """
    if not path:
        return
    part = osp.abspath(path)
    while not osp.exists(part) and osp.dirname(part) != part:
        part = osp.dirname(part)
    if not osp.isdir(part):
        where = "is a file" if part == osp.abspath(path) else f"lies under the file {part}"
        raise NotADirectoryError(f"{flag} {path} {where}, not a folder")


def error_message(exc: BaseException) -> str:
    """The first line of an exception's message (a KeyError's without its quotes)."""
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def log_traceback(exc: BaseException, logger: Optional[logging.Logger] = None) -> None:
    """Writes ``exc``'s traceback into ``logger``'s log files (default: the current MMLogger)."""
    from mmengine.logging import MMLogger

    if logger is None:
        if not MMLogger._instance_dict:
            return
        logger = MMLogger.get_current_instance()
    if getattr(exc, _LOGGED, False):
        return
    handlers = [
        h
        for h in logger.handlers
        if isinstance(h, logging.FileHandler) and h.stream is not None and not h.stream.closed
    ]
    if not handlers:
        return
    setattr(exc, _LOGGED, True)
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    record = logger.makeRecord(logger.name, logging.ERROR, __file__, 0, text, None, None)
    for handler in handlers:
        handler.handle(record)


def run_main(tool: str, body: Callable[[], Any], debug: bool = False, status: int = 1) -> int:
    """Runs a tool's body; reports an error in one line.

    Args:
        tool: the tool's name in the message (``train.py``).
        body: the tool's work; returns its exit status (not an ``int``: 0).
        debug: re-raise (the full traceback) instead of the one line.
        status: the exit status of an error.

    Returns:
        The body's status, or ``status`` after an error.
    """
    try:
        result = body()
        return result if isinstance(result, int) and not isinstance(result, bool) else 0
    except KeyboardInterrupt:
        print(f"{tool}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001  (the top level: every error in one line)
        if debug:
            raise
        log_traceback(exc)
        if isinstance(exc, USER_ERRORS):
            print(f"{tool}: error: {error_message(exc)}", file=sys.stderr)
        else:
            print(
                f"{tool}: internal error ({type(exc).__name__}): {error_message(exc)}; "
                "rerun with --debug for the traceback",
                file=sys.stderr,
            )
        return status

"""What produced a results file: the script, its arguments, the command line and the commit."""

import os.path as osp
import subprocess
import sys
from typing import Any, Dict, Optional

from ..utils.package_files import CHECKOUT_DIR


def _git(*args: str) -> Optional[str]:
    try:
        done = subprocess.run(
            ["git", *args], cwd=CHECKOUT_DIR, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout.strip()


def provenance(args: Dict[str, Any], script: str) -> Dict[str, Any]:
    """The fields every results file starts with.

    Args:
        args: the script's parsed arguments (``vars(namespace)``).
        script: the script's path (its ``__file__``).

    Returns:
        ``script`` (relative to the repository), ``args``, ``command``, ``git_commit``
        (None outside a git checkout) and ``git_dirty`` (tracked files changed).
    """
    status = _git("status", "--porcelain", "--untracked-files=no")
    return dict(
        script=osp.relpath(osp.abspath(script), CHECKOUT_DIR),
        args=args,
        command=" ".join([sys.executable, *sys.argv]),
        git_commit=_git("rev-parse", "HEAD"),
        git_dirty=None if status is None else bool(status),
    )

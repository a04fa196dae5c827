"""The problem report of the dataset preparation tools: a file and a summary."""

from __future__ import annotations

from collections import Counter
from typing import Callable, Sequence, Tuple

from ..io import atomic_write_text


def report_problems(
    problems: Sequence[Tuple[str, str]],
    path: str,
    kind: Callable[[str], str],
    title: str = "problems",
    shown: int = 10,
) -> None:
    """Writes every problem to ``path`` and prints a summary.

    The file holds ``<image id>\\t<problem>`` lines (empty when there are
    none); stdout gets ``<title>: N; <kind>: n; ...``, the first ``shown``
    problems and, if there are any, where the rest are listed.

    Args:
        problems: ``(image id, problem)`` pairs, in the order to list them.
        path: the report file (written atomically).
        kind: the kind of a problem, counted in the summary.
        title: the summary's first word(s), e.g. ``"[train2014] problems"``.
        shown: how many problems to print.
    """
    atomic_write_text(path, "".join(f"{img_id}\t{problem}\n" for img_id, problem in problems))
    kinds = Counter(kind(problem) for _, problem in problems)
    print(f"{title}: {len(problems)}" + "".join(f"; {k}: {n}" for k, n in sorted(kinds.items())))
    for img_id, problem in problems[:shown]:
        print(f"  {img_id}: {problem}")
    if problems:
        print(f"  (all listed in {path})")

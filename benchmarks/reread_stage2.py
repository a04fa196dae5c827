"""Re-reads a synthetic benchmark run's checkpoints with other stage-2 settings.

Settings that change only the readout (``model.test_cfg``: e.g. ``score=softmax``)
do not change training, so instead of training again this re-runs each seed's
own stage-2 commands (``tools/gen_pseudo.py`` as ``pipeline.log`` recorded them)
with extra ``--cfg-options``, writing to ``<stage-2 folder>_<suffix>``, and
reports the same scores as ``synthetic_cam_vs_l2g.py`` (rows and the table).

    python benchmarks/reread_stage2.py benchmarks/results/synthetic_cam_vs_l2g.json \\
        --cfg-options model.test_cfg.score=softmax --suffix softmax
"""

import argparse
import json
import os
import os.path as osp
import shlex
import subprocess
import sys
from typing import List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

from mmseg_l2g.experiments.experiment import METHODS, results_table, summarise  # noqa: E402
from mmseg_l2g.experiments.stages import COMMAND_MARK  # noqa: E402
from mmseg_l2g.io import atomic_write_json  # noqa: E402


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("results", help="a results JSON of synthetic_cam_vs_l2g.py")
    p.add_argument("--cfg-options", nargs="+", required=True, help="extra key=value overrides")
    p.add_argument("--suffix", required=True, help="appended to each stage-2 folder")
    p.add_argument("--split", default="val", choices=["val", "train"])
    p.add_argument("--out", required=True)
    return p.parse_args(argv)


def stage2_command(log_lines: List[str], name: str) -> List[str]:
    """The argv of stage ``name`` as ``pipeline.log`` recorded it (the last run of it)."""
    mark = f"{COMMAND_MARK}{name}: "
    lines = [line for line in log_lines if line.startswith(mark)]
    if not lines:
        raise ValueError(f"pipeline.log has no command of stage {name!r}")
    return shlex.split(lines[-1][len(mark) :])


def main(argv: Optional[List[str]] = None) -> List[dict]:
    """Re-runs every seed's stage 2 with the overrides; prints and writes the scores."""
    args = parse_args(argv)
    with open(args.results) as f:
        source = json.load(f)
    rows = []
    for row in source["rows"]:
        run_dir = osp.dirname(osp.dirname(next(iter(row["checkpoints"].values()))))
        with open(osp.join(run_dir, "pipeline.log")) as f:
            log_lines = f.read().splitlines()
        scores = {}
        for method in METHODS:
            if method not in row["checkpoints"]:
                continue
            command = stage2_command(log_lines, f"pseudo_{method}_{args.split}")
            out_at = command.index("--out-dir") + 1
            command[out_at] = f"{command[out_at]}_{args.suffix}"
            if "--cfg-options" not in command:
                command.append("--cfg-options")
            command += args.cfg_options  # --cfg-options is the commands' last option
            subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
            with open(osp.join(command[out_at], "metrics.json")) as f:
                scores[method] = {args.split: summarise(json.load(f))}
        rows.append(dict(seed=row["seed"], scores=scores, checkpoints=row["checkpoints"]))
        print(f"seed {row['seed']}: {scores}", flush=True)
    table = results_table(rows, args.split)
    print(table)
    doc = dict(args=vars(args), rows=rows, tables={args.split: table})
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    atomic_write_json(args.out, doc)
    return rows


if __name__ == "__main__":
    main()

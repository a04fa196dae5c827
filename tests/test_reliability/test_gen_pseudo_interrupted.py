"""tools/gen_pseudo.py killed mid-run, then rerun: the uninterrupted outputs, byte for byte."""

import os
import os.path as osp
import signal

from reliability_helpers import GEN_TOOL, gen_pseudo_args, run_tool, snapshot, tail, temp_files

KILL_AT_MASK = 6  # killed while writing the 6th mask (5 complete)


def test_killed_mid_write_then_rerun_equals_uninterrupted(
    tiny_config, gen_pseudo_tool, pseudo_reference, tmp_path
):
    out_dir = str(tmp_path / "out")
    args = gen_pseudo_args(tiny_config, pseudo_reference["checkpoint"], out_dir)
    masks_dir = osp.join(out_dir, "masks")
    runner = "import sys, reliability_helpers as h; h.kill_at_nth_replace(*sys.argv[1:])"
    killed = run_tool(["-c", runner, masks_dir, str(KILL_AT_MASK), GEN_TOOL, *args])
    assert killed.returncode == -signal.SIGKILL, tail(killed)
    # Killed mid-run: 5 masks complete, the 6th written under its temp name only.
    assert (
        len([n for n in os.listdir(masks_dir) if n.endswith(".png") and not n.startswith(".")])
        == KILL_AT_MASK - 1
    )
    assert len(temp_files(masks_dir)) == 1
    assert not osp.exists(osp.join(out_dir, "metrics.json"))

    assert gen_pseudo_tool.main(args) == 0
    leftovers = temp_files(out_dir)
    files = {k: v for k, v in snapshot(out_dir).items() if k not in leftovers}
    reference = pseudo_reference["files"]
    assert sorted(files) == sorted(reference)
    for name, data in reference.items():
        assert files[name] == data, f"{name} differs from the uninterrupted run"
    assert leftovers == [], f"temp files left behind by the killed run: {leftovers}"

"""reread_stage2 finds each stage's recorded command and refuses a missing one."""

import pytest

from benchmarks import reread_stage2


def test_the_last_recorded_command_of_a_stage_is_used():
    log = [
        "",
        "===== pseudo_l2g_val: python3 tools/gen_pseudo.py A B --out-dir /w/first",
        "some tool output",
        "===== pseudo_l2g_sal_val: python3 tools/gen_pseudo.py C D --out-dir /w/sal",
        "===== pseudo_l2g_val: python3 tools/gen_pseudo.py A B --out-dir /w/second",
    ]
    command = reread_stage2.stage2_command(log, "pseudo_l2g_val")
    assert command == ["python3", "tools/gen_pseudo.py", "A", "B", "--out-dir", "/w/second"]
    with pytest.raises(ValueError, match="no command of stage 'pseudo_cam_val'"):
        reread_stage2.stage2_command(log, "pseudo_cam_val")

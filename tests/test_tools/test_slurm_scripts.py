"""tools/slurm_{train,test}.sh hand srun mmseg's arguments and --launcher=slurm (srun faked)."""

import os
import os.path as osp
import stat
import subprocess

import pytest

ROOT = osp.abspath(osp.join(osp.dirname(__file__), "../.."))


@pytest.fixture()
def fake_srun(tmp_path) -> dict:
    """A PATH whose ``srun`` prints its arguments, one per line."""
    srun = tmp_path / "srun"
    srun.write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$@"\n')
    srun.chmod(srun.stat().st_mode | stat.S_IEXEC)
    return dict(os.environ, PATH=f"{tmp_path}:{os.environ['PATH']}", GPUS="8", SRUN_ARGS="-x n1")


def _run(script: str, args: list, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", osp.join(ROOT, "tools", script), *args], env=env, capture_output=True, text=True
    )


def test_slurm_train(fake_srun) -> None:
    out = _run("slurm_train.sh", ["part", "job", "cfg.py", "wd", "--amp"], fake_srun)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[:7] == [
        "-p", "part", "--job-name=job", "--gres=gpu:4", "--ntasks=8", "--ntasks-per-node=4",
        "--cpus-per-task=5",
    ]  # fmt: skip
    assert lines[7:10] == ["--kill-on-bad-exit=1", "-x", "n1"]
    assert lines[10:] == [
        "python", "-u", osp.join(ROOT, "tools", "train.py"), "cfg.py", "--work-dir=wd", "--amp",
        "--launcher=slurm",
    ]  # fmt: skip


def test_slurm_test(fake_srun) -> None:
    out = _run("slurm_test.sh", ["part", "job", "cfg.py", "ckpt.pth", "--tta"], fake_srun)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-7:] == [
        "python", "-u", osp.join(ROOT, "tools", "test.py"), "cfg.py", "ckpt.pth", "--tta",
        "--launcher=slurm",
    ]  # fmt: skip


def test_missing_arguments_are_refused(fake_srun) -> None:
    out = _run("slurm_test.sh", ["part", "job", "cfg.py"], fake_srun)
    assert out.returncode == 2
    assert "usage: bash tools/slurm_test.sh" in out.stderr


def test_launcher_choices_include_slurm() -> None:
    for tool in ("train.py", "test.py"):
        out = subprocess.run(
            ["python3", osp.join(ROOT, "tools", tool), "--help"], capture_output=True, text=True
        )
        assert "slurm" in out.stdout, tool

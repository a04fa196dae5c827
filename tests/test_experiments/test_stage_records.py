"""A rerun resumes a training only with the settings it was made with (gen_pseudo's rule)."""

import json
import os.path as osp

import pytest

from mmseg_l2g.experiments.stages import StageRunner

CONFIG = "configs/l2g/l2g_plaincnn_1xb8-600it_synthetic-128.py"


@pytest.fixture
def trainings(monkeypatch):
    """StageRunner.run replaced by a fake training: counts the calls, writes a checkpoint."""
    calls = []

    def run(self, name, args):
        work_dir = args[args.index("--work-dir") + 1]
        calls.append((name, list(args)))
        checkpoint = osp.join(work_dir, f"iter_{len(calls)}.pth")
        open(checkpoint, "wb").close()
        with open(osp.join(work_dir, "last_checkpoint"), "w") as f:
            f.write(checkpoint)

    monkeypatch.setattr(StageRunner, "run", run)
    return calls


def test_same_settings_reuse_the_finished_training(tmp_path, trainings):
    stages = StageRunner(str(tmp_path))
    first = stages.train("l2g", CONFIG, {"randomness.seed": 0})
    again = stages.train("l2g", CONFIG, {"randomness.seed": 0})
    assert first == again and len(trainings) == 1
    record = json.loads((tmp_path / "l2g" / "stage.json").read_text())
    assert record == dict(config=CONFIG, options=["--cfg-options", "randomness.seed=0"])


def test_other_settings_are_refused_then_redone_with_overwrite(tmp_path, trainings):
    StageRunner(str(tmp_path)).train("l2g", CONFIG, {"randomness.seed": 0})
    with pytest.raises(ValueError, match="stage 'l2g': .* other settings.*--overwrite"):
        StageRunner(str(tmp_path)).train("l2g", CONFIG, {"randomness.seed": 1})
    assert len(trainings) == 1  # nothing ran, nothing was removed
    assert (tmp_path / "l2g" / "iter_1.pth").exists()
    checkpoint = StageRunner(str(tmp_path), overwrite=True).train(
        "l2g", CONFIG, {"randomness.seed": 1}
    )
    # Trained again from scratch: the old checkpoint is gone and --resume not passed.
    assert len(trainings) == 2 and "--resume" not in trainings[1][1]
    assert checkpoint.endswith("iter_2.pth") and not (tmp_path / "l2g" / "iter_1.pth").exists()
    record = json.loads((tmp_path / "l2g" / "stage.json").read_text())
    assert record["options"] == ["--cfg-options", "randomness.seed=1"]


def test_an_interrupted_training_resumes_only_with_its_settings(tmp_path, trainings):
    work_dir = tmp_path / "l2g"
    work_dir.mkdir()
    (work_dir / "stage.json").write_text(json.dumps(dict(config=CONFIG, options=[])))
    (work_dir / "iter_5.pth").write_bytes(b"")
    (work_dir / "last_checkpoint").write_text(str(work_dir / "iter_5.pth"))
    StageRunner(str(tmp_path)).train("l2g", CONFIG)
    assert "--resume" in trainings[0][1]
    with pytest.raises(ValueError, match="other settings"):
        StageRunner(str(tmp_path)).train(
            "l2g", "configs/l2g/cam_plaincnn_1xb8-600it_synthetic-128.py"
        )


def test_a_folder_from_before_records_is_reused_and_recorded(tmp_path, trainings):
    work_dir = tmp_path / "l2g"
    work_dir.mkdir()
    (work_dir / "iter_3.pth").write_bytes(b"")
    (work_dir / "last_checkpoint").write_text(str(work_dir / "iter_3.pth"))
    (work_dir / "DONE").write_text("ok\n")
    assert StageRunner(str(tmp_path)).train("l2g", CONFIG).endswith("iter_3.pth")
    assert not trainings
    assert json.loads((work_dir / "stage.json").read_text())["config"] == CONFIG


def test_overwrite_rebuilds_stage_two(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(StageRunner, "run", lambda self, name, args: calls.append(list(args)))
    StageRunner(str(tmp_path)).gen_pseudo("pseudo", CONFIG, None, ["--split", "val"])
    StageRunner(str(tmp_path), overwrite=True).gen_pseudo(
        "pseudo", CONFIG, None, ["--split", "val"]
    )
    assert "--overwrite" not in calls[0] and "--overwrite" in calls[1]

"""reread_stage2 rebuilds each stage-2 command from checked fields; it never runs log text."""

import json
import os.path as osp

import pytest

from benchmarks import reread_stage2
from mmseg_l2g.experiments.experiment import CONFIGS, FIXED_THR, SWEEP
from mmseg_l2g.experiments.stages import COMMAND_MARK, StageRunner


@pytest.fixture
def run(tmp_path):
    """A run's files: data root, checkpoints, a pipeline.log holding a hostile command."""
    data_root = tmp_path / "data"
    (data_root / "JPEGImages").mkdir(parents=True)
    run_dir = tmp_path / "seed0_10it_abcd"
    checkpoints = {}
    for method in ("l2g", "l2g_sal"):
        (run_dir / method).mkdir(parents=True)
        checkpoints[method] = str(run_dir / method / "iter_10.pth")
        open(checkpoints[method], "wb").close()
    marker = tmp_path / "code_ran"
    (run_dir / "pipeline.log").write_text(
        f"{COMMAND_MARK}pseudo_l2g_val: sh -c 'touch {marker}' --out-dir x\n"
    )
    row = dict(seed=0, data_root=str(data_root), checkpoints=checkpoints, scores={})
    args = dict(scales=[1.0, 1.5], cfg_options={"model.loss_transfer.loss_weight": 5.0})
    return dict(tmp=tmp_path, row=row, args=args, run_dir=str(run_dir), marker=marker)


def write_results(path, rows, args):
    path.write_text(json.dumps(dict(args=args, rows=rows)))
    return str(path)


def reread(tmp_path, results, capsys, *extra):
    """``reread_stage2.main``: (exit status, stderr)."""
    out = str(tmp_path / "out.json")
    argv = [results, "--cfg-options", "model.test_cfg.score=softmax", "--suffix", "sm"]
    code = reread_stage2.main([*argv, "--out", out, *extra])
    return code, capsys.readouterr().err


def test_commands_are_rebuilt_from_fields_as_argument_lists(run, monkeypatch, capsys):
    calls = []

    def gen_pseudo(self, name, config, checkpoint, extra=(), options=None):
        calls.append((self.work_dir, name, config, checkpoint, list(extra), dict(options)))
        return {}

    monkeypatch.setattr(StageRunner, "gen_pseudo", gen_pseudo)
    monkeypatch.setattr(reread_stage2, "results_table", lambda rows, split: "table")
    # A premise_sweep.py row holds its benchmark run under "base".
    results = write_results(run["tmp"] / "r.json", [dict(seed=0, base=run["row"])], run["args"])
    code, err = reread(run["tmp"], results, capsys)
    assert code == 0, err
    assert not run["marker"].exists()  # the log's command is never read
    assert [c[:4] for c in calls] == [
        (run["run_dir"], f"pseudo_{m}_{s}_sm", CONFIGS[m], run["row"]["checkpoints"][m])
        for m in ("l2g", "l2g_sal")
        for s in ("val", "train")
    ]
    extra, options = calls[1][4], calls[1][5]
    sweep = ["--sweep", *SWEEP, "--bg-thr", f"{FIXED_THR}", "--num-vis", "0"]
    assert extra == ["--split", "train", "--save-cams", "--scales", "1.0", "1.5", *sweep]
    assert options["train_dataloader.dataset.data_root"] == run["row"]["data_root"]
    assert options["randomness.seed"] == 0
    assert options["model.loss_transfer.loss_weight"] == 5.0
    assert options["model.test_cfg.score"] == "softmax"


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(rows=[]), "no rows (not a results file"),
        (dict(checkpoints={}), "rows[0]: no checkpoints"),
        (dict(checkpoints={"l2g": "relative/l2g/iter_1.pth"}), "is not an absolute path"),
        (dict(checkpoints={"l2g": "/bin/sh"}), "is not <run>/l2g/iter_N.pth"),
        (dict(checkpoints={"evil": "/x/evil/iter_1.pth"}), "unknown method 'evil'"),
        (dict(seed="0; rm -rf /"), "seed '0; rm -rf /' is not an integer"),
        (dict(cfg_options={"custom_imports.imports": "os"}), "refused config key"),
        (dict(cfg_options={"model.head.type": "os.system"}), "refused config key"),
        (dict(cfg_options={"a.b": "x', __import__('os')"}), "refused value"),
        (dict(scales=["1; touch x"]), "is not a number in (0, 8"),
    ],
)
def test_a_field_that_does_not_check_out_is_refused_in_one_line(run, capsys, change, message):
    row, args = dict(run["row"]), dict(run["args"])
    rows = change.pop("rows", [row])
    for key in ("cfg_options", "scales"):
        if key in change:
            args[key] = change.pop(key)
    row.update(change)
    results = write_results(run["tmp"] / "r.json", rows, args)
    code, err = reread(run["tmp"], results, capsys)
    assert code == 1 and err.count("\n") == 1, err
    assert err.startswith("reread_stage2.py: error: ") and message in err, err
    assert not run["marker"].exists()
    assert not osp.exists(run["tmp"] / "out.json")

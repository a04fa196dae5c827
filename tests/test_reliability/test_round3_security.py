"""Round 3, security: no checkpoint runs code, whatever torch's loading default.

``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` gives torch < 2.6's default (full
unpickling wherever ``weights_only`` is not passed). Under both settings, in a
fresh process: MMEngine's ``load_checkpoint``, ``Pretrained`` initialisation,
mmseg's ``init_model`` and a scheme loader of MMEngine's kind refuse a
checkpoint whose pickle would create a marker file, and ``demo/image_demo.py`` /
``tools/train.py`` end in one line naming it. A control shows the setting
does take effect: a bare ``torch.load`` runs the payload under it.
"""

import json
import os
import os.path as osp

import pytest
import torch
from reliability_helpers import REPO, run_tool, tail, train

FORCE_UNSAFE = dict(TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD="1")
SETTINGS = {"torch default": {}, "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1": FORCE_UNSAFE}
DEMO_TOOL = osp.join(REPO, "demo", "image_demo.py")
L2G_CONFIG = osp.join(REPO, "configs", "l2g", "l2g_plaincnn_1xb8-600it_synthetic-128.py")

# Runs in a fresh process: every loading path on its own hostile file (own marker).
PATHS_SCRIPT = r"""
import json, os, sys
import torch
from mmengine.runner import CheckpointLoader

folder, config = sys.argv[1], sys.argv[2]

def scheme_loader(filename, map_location=None):  # as MMEngine's http / pavi / ceph loaders
    return torch.load(filename[len("l2gtest://"):], map_location=map_location)

CheckpointLoader.register_scheme("l2gtest://", scheme_loader)
import mmseg_l2g  # noqa: E402  (registers the safe loaders)
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from mmseg.apis import init_model
from mmseg.registry import MODELS
from mmengine.config import Config

init_default_scope("mmseg")

def pretrained(path):
    cfg = Config.fromfile(config)
    cfg.model.backbone.init_cfg = dict(type="Pretrained", checkpoint=path)
    MODELS.build(cfg.model).init_weights()

paths = dict(
    load_checkpoint=lambda p: load_checkpoint(torch.nn.Linear(1, 1), p),
    pretrained_init=pretrained,
    init_model=lambda p: init_model(config, p, device="cpu"),
    scheme_loader=lambda p: CheckpointLoader.load_checkpoint("l2gtest://" + p),
    bare_torch_load=lambda p: torch.load(p),  # the control: no weights_only passed
)
outcome = {}
for name, load in paths.items():
    path = os.path.join(folder, name + ".pth")
    try:
        load(path)
        error = None
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
    outcome[name] = dict(error=error, ran=os.path.exists(os.path.join(folder, name + ".ran")))
print("OUTCOME " + json.dumps(outcome))
"""


class RunsCode:
    """A pickle payload: unpickling it calls ``os.system`` (creates ``marker``)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def hostile_checkpoint(path: str) -> str:
    """An MMEngine-looking checkpoint whose ``meta`` runs code; its marker is ``<stem>.ran``."""
    marker = osp.splitext(path)[0] + ".ran"
    torch.save(dict(state_dict={}, meta=RunsCode(marker)), path)
    return marker


@pytest.mark.parametrize("env", list(SETTINGS.values()), ids=list(SETTINGS))
def test_every_loading_path_refuses_a_hostile_pickle(tmp_path, env):
    names = ("load_checkpoint", "pretrained_init", "init_model", "scheme_loader", "bare_torch_load")
    for name in names:
        hostile_checkpoint(str(tmp_path / f"{name}.pth"))
    script = tmp_path / "paths.py"
    script.write_text(PATHS_SCRIPT)
    proc = run_tool([str(script), str(tmp_path), L2G_CONFIG], env=env)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("OUTCOME ")]
    assert proc.returncode == 0 and lines, tail(proc)
    outcome = json.loads(lines[-1][len("OUTCOME ") :])
    for name in names[:-1]:
        assert not outcome[name]["ran"], (name, outcome[name])
        error = outcome[name]["error"] or ""
        assert error.startswith("ValueError") and f"{name}.pth" in error, (name, error)
        assert "refused by weights-only loading" in error and "posix.system" in error, error
    # The control: the environment variable switches a bare torch.load to full unpickling.
    assert outcome["bare_torch_load"]["ran"] == (env == FORCE_UNSAFE), outcome["bare_torch_load"]


def test_demo_refuses_a_hostile_checkpoint_under_the_old_default(tiny_data, tmp_path):
    marker = hostile_checkpoint(str(tmp_path / "hostile.pth"))
    image = osp.join(tiny_data, "JPEGImages", "val_000000.jpg")
    out_dir = tmp_path / "out"
    argv = [DEMO_TOOL, image, L2G_CONFIG, tmp_path / "hostile.pth", "--out-dir", out_dir]
    proc = run_tool([*argv, "--device", "cpu"], env=FORCE_UNSAFE)
    assert proc.returncode == 1, tail(proc)
    assert not osp.exists(marker) and not out_dir.exists()
    assert "Traceback" not in proc.stderr, tail(proc)
    message = proc.stderr.strip().splitlines()[-1]
    assert message.startswith("image_demo.py: error: checkpoint "), message
    assert "hostile.pth: cannot load (refused by weights-only loading" in message, message


def test_train_pretrained_init_refuses_a_hostile_checkpoint_under_the_old_default(
    tiny_config, tmp_path
):
    hostile = str(tmp_path / "hostile.pth")
    marker = hostile_checkpoint(hostile)
    options = [
        "model.backbone.init_cfg.type=Pretrained",
        f"model.backbone.init_cfg.checkpoint={hostile}",
    ]
    proc = train(tiny_config, str(tmp_path / "work"), "--cfg-options", *options, env=FORCE_UNSAFE)
    assert proc.returncode == 1, tail(proc)
    assert not osp.exists(marker)
    assert "Traceback" not in proc.stderr, tail(proc)
    message = proc.stderr.strip().splitlines()[-1]
    assert message.startswith(f"train.py: error: checkpoint {hostile}: cannot load"), message
    work = tmp_path / "work"
    assert not (work.exists() and [n for n in os.listdir(work) if n.endswith(".pth")])

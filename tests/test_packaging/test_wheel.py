"""A regular install (pip install .) works outside the checkout: .mim files, mmseg_l2g:: scope."""

import json
import subprocess

CONFIG = "l2g/l2g_plaincnn_1xb8-600it_synthetic-128.py"
USER_CONFIG = f"""_base_ = ["mmseg_l2g::{CONFIG}"]
data_root = "data/syn"
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False, dataset=dict(data_root=data_root)
)
val_dataloader = dict(num_workers=0, persistent_workers=False, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
train_cfg = dict(max_iters=2, val_interval=1000)
"""


def run(python: str, cwd, *args: str, timeout: int = 900) -> str:
    """Runs ``python args`` in ``cwd``; asserts success; returns stdout + stderr."""
    proc = subprocess.run(
        [python, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )  # fmt: skip
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    return output


def installed(python: str, outside) -> dict:
    """Where the installed package and its .mim files are, seen from the environment."""
    code = (
        "import json, os, mmseg_l2g; from mmseg_l2g.utils.package_files import "
        "package_file, resolve_config; d = os.path.dirname(mmseg_l2g.__file__); "
        f"print(json.dumps(dict(package=d, tool=package_file('tools', 'train.py'), "
        f"config=resolve_config('mmseg_l2g::{CONFIG}'), "
        "index=os.path.isfile(os.path.join(d, '.mim', 'model-index.yml')))))"
    )
    return json.loads(run(python, outside, "-c", code).strip().splitlines()[-1])


def test_the_install_carries_configs_tools_and_the_model_index(installed_wheel):
    python, outside = installed_wheel
    where = installed(python, outside)
    assert "site-packages" in where["package"]
    assert where["tool"] == f"{where['package']}/.mim/tools/train.py"
    assert where["config"] == f"{where['package']}/.mim/configs/{CONFIG}"
    assert where["index"]


def test_a_user_config_inherits_a_packaged_one_and_runs_outside_the_checkout(installed_wheel):
    python, outside = installed_wheel
    tools = installed(python, outside)["package"] + "/.mim/tools"
    run(python, outside, f"{tools}/make_synthetic.py", "--out", "data/syn", "--num-train", "4",
        "--num-val", "2", "--seed", "0", "--size", "64", "--no-progress")  # fmt: skip
    (outside / "my_l2g.py").write_text(USER_CONFIG)
    # A relative --work-dir, as a user types it, from a folder that is not the checkout.
    run(python, outside, f"{tools}/train.py", "my_l2g.py", "--work-dir", "runs/l2g")
    assert (outside / "runs" / "l2g" / "iter_2.pth").is_file()
    run(python, outside, f"{tools}/gen_pseudo.py", "mmseg_l2g::" + CONFIG,
        "runs/l2g/iter_2.pth", "--out-dir", "runs/pseudo", "--split", "val",
        "--cfg-options", "val_dataloader.dataset.data_root=data/syn",
        "test_dataloader.dataset.data_root=data/syn")  # fmt: skip
    masks = sorted(p.name for p in (outside / "runs" / "pseudo" / "masks").glob("*.png"))
    ids = (outside / "data/syn/ImageSets/Segmentation/val.txt").read_text().split()
    assert masks == sorted(f"{i}.png" for i in ids)

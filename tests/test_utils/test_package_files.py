"""package_file / resolve_config: the configs and tools beside the package, from any folder."""

import os
import os.path as osp

import pytest

from mmseg_l2g.utils import package_files
from mmseg_l2g.utils.package_files import package_file, resolve_config

CONFIG = "l2g/l2g_plaincnn_1xb8-600it_synthetic-128.py"
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def same_file(a: str, b: str) -> bool:
    return osp.samefile(a, b)


def test_a_config_resolves_by_scope_by_checkout_path_and_from_another_folder(tmp_path):
    expected = osp.join(REPO, "configs", CONFIG)
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)  # not the checkout: "configs/..." still means the package's
        assert same_file(resolve_config(f"mmseg_l2g::{CONFIG}"), expected)
        assert same_file(resolve_config(f"configs/{CONFIG}"), expected)
        assert same_file(package_file("tools", "train.py"), osp.join(REPO, "tools", "train.py"))
    finally:
        os.chdir(cwd)


def test_an_existing_file_wins_and_other_names_pass_through(tmp_path):
    mine = tmp_path / "configs" / "mine.py"
    mine.parent.mkdir()
    mine.write_text("x = 1\n")
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        assert resolve_config("configs/mine.py") == str(mine)  # the user's own file
        assert resolve_config("nowhere.py") == "nowhere.py"  # for the caller's own error
    finally:
        os.chdir(cwd)


def test_a_missing_file_names_both_places(monkeypatch, tmp_path):
    monkeypatch.setattr(package_files, "PACKAGE_DIR", str(tmp_path / "pkg"))
    monkeypatch.setattr(package_files, "CHECKOUT_DIR", str(tmp_path / "checkout"))
    with pytest.raises(FileNotFoundError) as info:
        package_file("configs", CONFIG)
    message = str(info.value)
    assert str(tmp_path / "pkg" / ".mim" / "configs" / CONFIG) in message
    assert str(tmp_path / "checkout" / "configs" / CONFIG) in message
    with pytest.raises(ValueError, match="unknown kind of package file 'data'"):
        package_file("data", "x")


def test_the_scope_is_known_to_mmengine():
    from mmengine.config.utils import MODULE2PACKAGE, _get_package_and_cfg_path

    import mmseg_l2g  # noqa: F401  (registers the scope)

    assert MODULE2PACKAGE["mmseg_l2g"] == "mmseg_l2g"
    assert _get_package_and_cfg_path(f"mmseg_l2g::{CONFIG}") == ("mmseg_l2g", CONFIG)


def test_the_scope_registries_defer_to_mmseg():
    from mmseg.registry import MODELS as MMSEG_MODELS

    import mmseg_l2g  # noqa: F401
    from mmseg_l2g.registry import METRICS, MODELS

    assert MODELS.scope == "mmseg_l2g" and MODELS.parent is MMSEG_MODELS
    assert MODELS.get("L2GClassifier") is MMSEG_MODELS.get("L2GClassifier")
    assert METRICS.get("IoUMetric").__name__ == "IoUMetric"  # mmseg's own, imported on demand

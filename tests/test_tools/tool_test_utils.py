"""Helpers of the tool tests (imported by name: every test folder has its own conftest)."""

import importlib.util
import os.path as osp
import sys

ROOT = osp.abspath(osp.join(osp.dirname(__file__), "../.."))
L2G_CONFIG = osp.join(ROOT, "configs/l2g/l2g_plaincnn_1xb8-600it_synthetic-128.py")


def load_script(relative_path: str, register: bool = False):
    """Imports a script of the repository (tools/, demo/) as a module.

    Args:
        relative_path: e.g. ``"tools/prepare_voc.py"``.
        register: put it in ``sys.modules`` under its name, so that worker
            processes can unpickle its functions by name.
    """
    name = osp.splitext(osp.basename(relative_path))[0]
    spec = importlib.util.spec_from_file_location(name, osp.join(ROOT, relative_path))
    module = importlib.util.module_from_spec(spec)
    if register:
        sys.modules[name] = module
    spec.loader.exec_module(module)
    return module

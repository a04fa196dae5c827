"""The files a user runs beside the package: configs, tools, demo (OpenMMLab's ``.mim`` layout).

An installed wheel carries them in ``mmseg_l2g/.mim/`` (copied by ``setup.py`` at
build time; an editable install links them there), as mmseg, mmdet and mmpretrain
do, so that ``mim train mmseg_l2g CONFIG`` finds ``.mim/tools/train.py`` and a
config's ``_base_ = 'mmseg_l2g::...'`` finds ``.mim/configs``. A source checkout
without an install has them at the repository root.
"""

from __future__ import annotations

import os.path as osp

PACKAGE = "mmseg_l2g"
SCOPE_MARK = f"{PACKAGE}::"
PACKAGE_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))
CHECKOUT_DIR = osp.dirname(PACKAGE_DIR)
KINDS = ("configs", "tools", "demo")


def package_file(kind: str, relative: str) -> str:
    """The absolute path of ``<kind>/<relative>``: the installed copy, else the checkout's.

    Args:
        kind: ``'configs'``, ``'tools'`` or ``'demo'``.
        relative: the path inside that folder, e.g. ``'l2g/l2g_plaincnn_...py'``.

    Raises:
        ValueError: an unknown kind.
        FileNotFoundError: in neither place (both named).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind of package file {kind!r}: expected one of {KINDS}")
    places = [osp.join(PACKAGE_DIR, ".mim", kind, relative), osp.join(CHECKOUT_DIR, kind, relative)]
    for place in places:
        if osp.isfile(place):
            return place
    raise FileNotFoundError(
        f"{kind}/{relative} not found: neither installed ({places[0]}) nor in a checkout "
        f"({places[1]}); reinstall mmseg_l2g (pip install .) or run from its repository"
    )


def resolve_config(config: str) -> str:
    """A config name as a file path: ``mmseg_l2g::l2g/x.py`` or ``configs/l2g/x.py`` or a file.

    An existing file wins; ``mmseg_l2g::REL`` and a path starting with ``configs/`` are
    looked up with :func:`package_file`. Anything else is returned unchanged, for the
    caller's own "not found" error.
    """
    if osp.isfile(config):
        return osp.abspath(config)
    if config.startswith(SCOPE_MARK):
        return package_file("configs", config[len(SCOPE_MARK) :])
    head, _, rest = config.replace("\\", "/").partition("/")
    if head == "configs" and rest:
        return package_file("configs", rest)
    return config


def register_config_scope() -> None:
    """Lets MMEngine resolve ``_base_ = 'mmseg_l2g::...'`` (its list of packages is fixed).

    MMEngine looks the package up with ``get_installed_path``, so the scope resolves in
    a regular install (``pip install .``); an editable install's package lives outside
    site-packages, where MMEngine does not look: use config paths there.
    """
    from mmengine.config import utils as config_utils

    config_utils.MODULE2PACKAGE.setdefault(PACKAGE, PACKAGE)

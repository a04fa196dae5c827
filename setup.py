"""Installs the mmseg_l2g plugin (L2G for MMSegmentation / MMEngine).

Requirements are ranges, not pins, so that ``pip install -e .`` into a working
MMSegmentation environment keeps its torch, mmcv and mmseg (docs/installation.md):

- torch >= 2.1 (``torch.load(mmap=True)``); tested with 2.9.1 (CPU) and 2.11 (CUDA).
  torchvision is not listed: when it is missing pip would pick the newest one and,
  with it, replace the working torch. Install it with torch, as PyTorch's own
  instructions do.
- mmcv >= 2.0.0, < 2.2.0: mmsegmentation 1.2.x refuses mmcv 2.2. mmcv ships only as
  source: build it first, with ops (docs/installation.md); pip never replaces a
  satisfying one.
- mmsegmentation >= 1.2.1, < 1.3 (1.2.0's wheel lacks its tokenizer's vocabulary file, so
  ``import mmseg.models`` fails), mmengine >= 0.10, mmpretrain >= 1.2. Tested: mmseg 1.2.2 +
  mmengine 0.10.7 (the whole suite) and mmseg 1.2.1 + mmengine 0.10.0 (the model, TTA,
  visualizer, tool and config tests).
- ftfy and regex: ``import mmseg.utils`` needs them but mmsegmentation does not declare
  them. OpenCV comes with mmengine.

``tools/install.sh`` is the pinned development / CI environment instead.
"""

import os
import os.path as osp
import shutil
import sys

from setuptools import find_packages, setup

# What a user runs beside the package, shipped inside it as OpenMMLab packages do
# (``mmseg_l2g/.mim/``): ``mim train mmseg_l2g CONFIG`` runs ``.mim/tools/train.py`` and
# ``_base_ = 'mmseg_l2g::...'`` reads ``.mim/configs``.
MIM_FILES = ("configs", "tools", "demo", "model-index.yml")

INSTALL_REQUIRES = [
    "torch>=2.1",
    "mmcv>=2.0.0,<2.2.0",
    "mmengine>=0.10.0,<1.0",
    "mmsegmentation>=1.2.1,<1.3",
    "mmpretrain>=1.2.0,<2.0",
    "ftfy",
    "regex",
    "numpy>=1.24",
    "pillow",
    "scipy",
]


def read_version() -> str:
    """The version in mmseg_l2g/version.py (one place for it)."""
    namespace: dict = {}
    with open("mmseg_l2g/version.py", encoding="utf-8") as f:
        exec(f.read(), namespace)
    return namespace["__version__"]


def read_readme() -> str:
    """README.md, the package's long description."""
    with open("README.md", encoding="utf-8") as f:
        return f.read()


def add_mim_extension() -> None:
    """Links (editable install) or copies (wheel, sdist) ``MIM_FILES`` into ``mmseg_l2g/.mim``."""
    if "develop" in sys.argv or "editable_wheel" in sys.argv:
        mode = "symlink"
    elif any(command in sys.argv for command in ("sdist", "bdist_wheel", "build", "build_py")):
        mode = "copy"
    else:
        return
    root = osp.dirname(osp.abspath(__file__))
    mim_dir = osp.join(root, "mmseg_l2g", ".mim")
    os.makedirs(mim_dir, exist_ok=True)
    for name in MIM_FILES:
        src, dst = osp.join(root, name), osp.join(mim_dir, name)
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == "symlink":
            os.symlink(osp.relpath(src, mim_dir), dst)
        elif osp.isdir(src):
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copyfile(src, dst)


add_mim_extension()
setup(
    name="mmseg_l2g",
    version=read_version(),
    description="L2G (CVPR 2022) weakly supervised segmentation as an OpenMMLab plugin",
    long_description=read_readme(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["mmseg_l2g", "mmseg_l2g.*"]),
    include_package_data=True,  # MANIFEST.in: the .mim files
    python_requires=">=3.9",
    install_requires=INSTALL_REQUIRES,
    extras_require={
        "tests": ["pytest", "ruff", "pycocotools"],
        "coco": ["pycocotools"],  # tools/prepare_coco.py: the community's masks
        "crf": ["pydensecrf2"],
        "mim": ["openmim"],  # mim train / mim test mmseg_l2g CONFIG
    },
    license="Apache-2.0",
    classifiers=[
        "License :: OSI Approved :: Apache Software License",
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Image Recognition",
    ],
    zip_safe=False,
)

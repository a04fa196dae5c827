"""Installs the mmseg_l2g plugin (L2G for MMSegmentation / MMEngine)."""

from setuptools import find_packages, setup

INSTALL_REQUIRES = [
    "torch==2.9.1",
    "torchvision==0.24.1",
    "mmengine==0.10.7",
    "mmcv==2.1.0",
    "mmsegmentation==1.2.2",
    "mmpretrain==1.2.0",
    "ftfy",
    "regex",
    "numpy>=1.24",
    "opencv-python-headless",
    "pillow",
    "scipy",
]

setup(
    name="mmseg_l2g",
    version="0.1.0",  # keep in step with mmseg_l2g/version.py,
    description="L2G (CVPR 2022) weakly supervised segmentation as an OpenMMLab plugin",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["mmseg_l2g", "mmseg_l2g.*"]),
    python_requires=">=3.9",
    install_requires=INSTALL_REQUIRES,
    extras_require={
        "tests": ["pytest", "ruff", "pycocotools"],
        "coco": ["pycocotools"],  # tools/prepare_coco.py: the community's masks
        "crf": ["pydensecrf2"],
    },
    license="Apache-2.0",
    zip_safe=False,
)

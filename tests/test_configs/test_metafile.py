"""model-index.yml lists every config once, with the metadata OpenMMLab's tools read."""

import glob
import os.path as osp

import yaml

ROOT = osp.abspath(osp.join(osp.dirname(__file__), "../.."))


def _models() -> list:
    index = yaml.safe_load(open(osp.join(ROOT, "model-index.yml")))
    models = []
    for metafile in index["Import"]:
        meta = yaml.safe_load(open(osp.join(ROOT, metafile)))
        collections = {c["Name"] for c in meta["Collections"]}
        for model in meta["Models"]:
            assert model["In Collection"] in collections, model["Name"]
            models.append(model)
    return models


def test_every_config_listed_once_with_an_existing_path() -> None:
    models = _models()
    listed = [m["Config"] for m in models]
    configs = sorted(
        osp.relpath(p, ROOT)
        for folder in ("l2g", "deeplab")
        for p in glob.glob(osp.join(ROOT, "configs", folder, "*.py"))
    )
    assert sorted(listed) == configs
    for model in models:
        assert model["Name"] == osp.splitext(osp.basename(model["Config"]))[0]


def test_batch_size_matches_the_config_name() -> None:
    for model in _models():
        name = model["Name"]
        per_gpu = int(name.split("xb")[1].split("-")[0])
        gpus = int(name.split("xb")[0].split("_")[-1])
        assert model["Metadata"]["Batch Size"] == per_gpu * gpus, name

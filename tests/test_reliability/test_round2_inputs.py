"""Round 2, inputs: silent wrong results, unbounded work, raw tracebacks, data loss, messages.

- COCO with a subset of the 80 categories (or renumbered ids): mapped by
  name, dog stays dog;
- malformed COCO (a coordinate Infinity / NaN, an image without ``height``):
  an error naming the file and the entry, no output folder;
- synthetic generator: design ranges without a bound, Infinity, ``--size
  200000``: refused at once with a message, no folder;
- MXNet ``.params`` declaring 2^40 elements, or a shape whose product
  overflows 64 bits to 0: refused naming the file, nothing allocated;
- ``make_synthetic`` into a folder holding someone else's files: refused,
  every file left as it was (even with ``--overwrite``);
- a label list / split list with a UTF-8 byte-order mark parses.
"""

import json
import os
import os.path as osp
import struct
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from reliability_helpers import REPO, snapshot, tool_env
from test_round2_security import load_tool, write_coco

from mmseg_l2g.datasets.label_io import parse_label_list, read_split_ids
from mmseg_l2g.datasets.synthetic import make_synthetic
from mmseg_l2g.utils.mxnet_params import NDARRAY_LIST_MAGIC, NDARRAY_V2_MAGIC, load_mxnet_params

MAKE_SYNTHETIC = osp.join(REPO, "tools", "make_synthetic.py")


def _read_mask(path):
    with Image.open(path) as image:
        return np.array(image)


# ------------------------------------------------------------------ COCO
SQUARE = [[1, 1, 3, 1, 3, 3, 1, 3]]  # pixels (1..2, 1..2)
CORNER = [[3, 0, 4, 0, 4, 1, 3, 1]]  # pixel (0, 3)


@pytest.mark.parametrize(
    "categories",
    [
        [dict(id=18, name="dog"), dict(id=1, name="person")],  # a subset, file order
        [dict(id=1, name="dog"), dict(id=2, name="person")],  # renumbered ids
        [dict(id=18), dict(id=1)],  # no names: COCO's ids
    ],
)
def test_coco_subset_keeps_each_class(tmp_path, categories):
    root = tmp_path / "coco"
    dog, person = categories[0]["id"], categories[1]["id"]
    images = [dict(id=7, file_name="a.jpg", height=4, width=5)]
    annotations = [
        dict(id=1, image_id=7, category_id=dog, iscrowd=0, area=4.0, segmentation=SQUARE),
        dict(id=2, image_id=7, category_id=person, iscrowd=0, area=1.0, segmentation=CORNER),
    ]
    write_coco(root, images, annotations, categories)
    prepare_coco = load_tool("prepare_coco")
    assert prepare_coco.main(["--coco-root", str(root), "--splits", "val2014"]) == 0
    mask = _read_mask(root / "SegmentationClass" / "val2014" / "a.png")
    expected = np.zeros((4, 5), np.uint8)
    expected[1:3, 1:3] = 17  # dog is COCO's 17th class (id 18)
    expected[0, 3] = 1  # person
    np.testing.assert_array_equal(mask, expected)
    assert (root / "val2014_cls.txt").read_text() == "a 0 16\n"


@pytest.mark.parametrize(
    "image, segmentation, message",
    [
        (dict(height=4, width=5), [[1, 1, "Infinity", 1, 3, 3]], "coordinate inf"),
        (dict(height=4, width=5), [[1, 1, 3, "NaN", 3, 3]], "coordinate nan"),
        (dict(height=4, width=5), [[1, 1, 3, 1, None, 3]], "coordinate None"),
        (dict(width=5), SQUARE, "no 'height'"),
        (dict(height=0, width=5), SQUARE, "'height' is 0, not a positive integer"),
        (dict(height=4.5, width=5), SQUARE, "'height' is 4.5"),
        (dict(height=4, width=5), dict(counts=[20], size=[4]), "RLE 'size'"),
        (dict(height=70000, width=70000), SQUARE, "more than"),
    ],
)
def test_malformed_coco_names_file_and_entry_and_writes_nothing(
    tmp_path, capsys, image, segmentation, message
):
    root, out = tmp_path / "coco", tmp_path / "out"
    images = [
        dict(id=1, file_name="ok.jpg", height=4, width=5),
        dict(id=2, file_name="b.jpg", **image),
    ]
    annotations = [
        dict(id=10, image_id=1, category_id=1, iscrowd=0, area=4.0, segmentation=SQUARE),
        dict(id=11, image_id=2, category_id=1, iscrowd=0, area=4.0, segmentation=segmentation),
    ]
    write_coco(root, images, annotations)
    text = (root / "annotations" / "instances_val2014.json").read_text()
    text = text.replace('"Infinity"', "Infinity").replace('"NaN"', "NaN")  # JSON's extensions
    (root / "annotations" / "instances_val2014.json").write_text(text)
    prepare_coco = load_tool("prepare_coco")
    argv = ["--coco-root", str(root), "--out-dir", str(out), "--splits", "val2014"]
    assert prepare_coco.main(argv) == 1
    err = capsys.readouterr().err
    assert "instances_val2014.json: " in err
    entry = (
        "images[1] (id 2)" if "height" in message or "more" in message else "annotations[1] (id 11)"
    )
    assert entry in err and message in err, err
    assert not out.exists()


# ------------------------------------------------------------- synthetic
def _make_synthetic(*argv, timeout=120):
    """``tools/make_synthetic.py`` in a subprocess (a hang fails instead of blocking)."""
    return subprocess.run(
        [sys.executable, MAKE_SYNTHETIC, *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=tool_env(),
        cwd=REPO,
    )


# A count of 10^8 hung and --size 200000 exhausted memory: those cases run in a
# subprocess with a timeout.
@pytest.mark.parametrize(
    "option, message, hung",
    [
        (["--design", "distractor_count_range=[0,100000000]"], "distractor_count_range", True),
        (["--design", "max_objects=100000000"], "max_objects must be an integer in 1..16", True),
        (["--design", "noise_std=Infinity"], "noise_std must be a finite number", False),
        (["--design", "mark_offset=NaN"], "mark_offset must be a finite number", False),
        (["--design", "saliency_blur=1e308"], "saliency_blur", False),
        (["--design", "class_count_weights=[1,Infinity]"], "class_count_weights", False),
        (["--design", 'body_size_range="big"'], "body_size_range", False),
        (["--size", "200000"], "size must be an integer in 32..4096", True),
        (["--workers", "1000000"], "num_workers", False),
    ],
)
def test_make_synthetic_refuses_unbounded_work_at_once(tmp_path, capsys, option, message, hung):
    out = tmp_path / "data"
    argv = ["--out", str(out), "--num-train", "1", "--num-val", "0", "--seed", "0", "--size", "32"]
    argv += [*option, "--no-progress"]  # a later --size wins
    if hung:
        proc = _make_synthetic(*argv)
        status, err = proc.returncode, proc.stderr
    else:
        with pytest.raises(SystemExit) as exit_info:
            load_tool("make_synthetic").main(argv)
        status, err = exit_info.value.code, capsys.readouterr().err
    assert status == 2, err[-2000:]
    assert "make_synthetic: error:" in err and message in err, err[-2000:]
    assert "Traceback" not in err
    assert not out.exists()


def _user_folder(root):
    """A folder of a user's files where make_synthetic might be pointed."""
    (root / "Saliency").mkdir(parents=True)
    (root / "Saliency" / "keep.png").write_bytes(b"user's saliency map")
    (root / "preview.png").write_bytes(b"user's preview")
    return snapshot(str(root))


@pytest.mark.parametrize("overwrite", [False, True])
def test_make_synthetic_never_writes_into_a_foreign_folder(tmp_path, overwrite):
    root = tmp_path / "mine"
    before = _user_folder(root)
    with pytest.raises(ValueError, match=r"holds files this generator did not write .*keep\.png"):
        make_synthetic(
            str(root), 2, 0, seed=0, size=32, num_workers=1, progress=False, overwrite=overwrite
        )
    assert snapshot(str(root)) == before
    # Only a file in one of its own sub-folders: still refused.
    other = tmp_path / "other"
    (other / "Saliency").mkdir(parents=True)
    (other / "Saliency" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"Saliency/notes\.txt"):
        make_synthetic(
            str(other), 2, 0, seed=0, size=32, num_workers=1, progress=False, overwrite=overwrite
        )
    assert (other / "Saliency" / "notes.txt").read_text() == "mine"
    # Another tool's meta.json is not taken for a dataset of the generator's own.
    (other / "Saliency" / "notes.txt").unlink()
    (other / "meta.json").write_text(json.dumps({"classes": ["a"], "palette": [[0, 0, 0]]}))
    with pytest.raises(ValueError, match="was not written by the synthetic generator"):
        make_synthetic(
            str(other), 2, 0, seed=0, size=32, num_workers=1, progress=False, overwrite=overwrite
        )
    assert json.loads((other / "meta.json").read_text())["classes"] == ["a"]


def test_make_synthetic_cli_leaves_a_foreign_folder_as_it_was(tmp_path, capsys):
    root = tmp_path / "mine"
    before = _user_folder(root)
    argv = ["--out", str(root), "--num-train", "2", "--num-val", "0", "--seed", "0", "--size", "32"]
    with pytest.raises(SystemExit) as exit_info:
        load_tool("make_synthetic").main([*argv, "--overwrite", "--no-progress"])
    assert exit_info.value.code == 2
    assert "did not write" in capsys.readouterr().err
    assert snapshot(str(root)) == before


def test_make_synthetic_regenerates_its_own_killed_run(tmp_path):
    root = tmp_path / "data"
    options = dict(seed=0, size=32, num_workers=1, progress=False)
    make_synthetic(str(root), 2, 1, preview_path=str(root / "preview.png"), **options)
    complete = snapshot(str(root))
    os.remove(root / "meta.json")  # killed before the end: what a killed run leaves
    os.remove(root / "preview.png")
    os.remove(root / "Saliency" / "val_000000.png")
    make_synthetic(str(root), 2, 1, preview_path=str(root / "preview.png"), **options)
    assert snapshot(str(root)) == complete


# ----------------------------------------------------------------- MXNet
def _params_file(path, shape):
    """An NDArray list with one named V2 float32 array of ``shape`` and 8 bytes of data."""
    with open(path, "wb") as f:
        f.write(struct.pack("<QQQ", NDARRAY_LIST_MAGIC, 0, 1))
        f.write(struct.pack("<Iii", NDARRAY_V2_MAGIC, 0, len(shape)))
        f.write(struct.pack(f"<{len(shape)}q", *shape))
        f.write(struct.pack("<iii", 1, 0, 0))  # cpu(0), float32
        f.write(b"\0" * 8)
        f.write(struct.pack("<QQ", 1, 10) + b"arg:weight")


@pytest.mark.parametrize(
    "shape, elements",
    [
        ((1 << 20, 1 << 20), 1 << 40),  # 4 TiB of float32 declared
        ((1 << 32, 1 << 32), 1 << 64),  # int64 product wraps to 0
        ((1 << 62, 4), 1 << 64),
    ],
)
def test_mxnet_header_declaring_more_than_the_file_is_refused(tmp_path, shape, elements):
    path = tmp_path / "huge.params"
    _params_file(path, shape)
    with pytest.raises(ValueError) as info:
        load_mxnet_params(str(path))
    text = str(info.value)
    assert text.startswith(
        f"{path}: file ends inside array 0 data of shape {shape} ({elements} elements)"
    )
    left = 8 + 8 + 8 + len("arg:weight")  # the 8 data bytes and the name list
    assert f"it declares {elements * 4} bytes, the file has only {left} left" in text


def test_mxnet_small_array_still_reads(tmp_path):
    path = tmp_path / "ok.params"
    _params_file(path, (2,))
    params = load_mxnet_params(str(path))
    assert list(params) == ["arg:weight"]
    np.testing.assert_array_equal(params["arg:weight"], np.zeros(2, np.float32))


# -------------------------------------------------------------- messages
def test_label_and_split_lists_with_a_utf8_bom_parse(tmp_path):
    labels = tmp_path / "train_cls.txt"
    labels.write_bytes(b"\xef\xbb\xbfa 0 2\r\nb dog\r\n")
    split = tmp_path / "train.txt"
    split.write_bytes(b"\xef\xbb\xbfa\nb\n")
    parsed = parse_label_list(str(labels), ("cat", "dog", "car"))
    assert list(parsed) == ["a", "b"]
    np.testing.assert_array_equal(parsed["a"], [1, 0, 1])
    np.testing.assert_array_equal(parsed["b"], [0, 1, 0])
    assert read_split_ids(str(split)) == ["a", "b"]
    utf16 = tmp_path / "utf16.txt"
    utf16.write_bytes("a 0\n".encode("utf-16"))
    with pytest.raises(ValueError, match=r"utf16\.txt: the file is UTF-16 text; save it as UTF-8"):
        parse_label_list(str(utf16), ("cat", "dog", "car"))

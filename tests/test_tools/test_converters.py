"""Tests of the MXNet reader and the two checkpoint converters.

The files are written here in the real binary / torch layouts (same key names
and structure as the real ones, with small shapes).
"""

import os
import re
import struct
from typing import Dict, Optional

import numpy as np
import pytest
import torch
from tool_test_utils import load_script

from mmseg_l2g.engine.checkpointing import compare_state_dicts
from mmseg_l2g.models.backbones import ResNet38
from mmseg_l2g.models.heads.pcm import PixelCorrelationModule
from mmseg_l2g.utils import load_mxnet_params, read_ndarray_list

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


mx_tool = load_script("tools/convert_resnet38_mxnet.py")
l2g_tool = load_script("tools/convert_l2g_checkpoint.py")

# --------------------------------------------------------------------------
# An independent writer of MXNet's NDArray list format (ndarray.cc Save).
_FLAGS = {np.dtype("float32"): 0, np.dtype("float64"): 1, np.dtype("float16"): 2,
          np.dtype("uint8"): 3, np.dtype("int32"): 4, np.dtype("int8"): 5,
          np.dtype("int64"): 6}  # fmt: skip


def _encode_array(array: Optional[np.ndarray], version: str) -> bytes:
    if array is None:  # an empty ("none") array
        return {"legacy": struct.pack("<I", 0), "v1": struct.pack("<II", 0xF993FAC8, 0),
                "v2": struct.pack("<IiI", 0xF993FAC9, 0, 0),
                "v3": struct.pack("<Iii", 0xF993FACA, 0, -1)}[version]  # fmt: skip
    shape = array.shape
    if version == "legacy":
        head = struct.pack(f"<I{len(shape)}I", len(shape), *shape)
    elif version == "v1":
        head = struct.pack(f"<II{len(shape)}q", 0xF993FAC8, len(shape), *shape)
    else:
        magic = 0xF993FAC9 if version == "v2" else 0xF993FACA
        head = struct.pack(f"<Iii{len(shape)}q", magic, 0, len(shape), *shape)
    context = struct.pack("<ii", 1, 0)  # cpu(0)
    flag = struct.pack("<i", _FLAGS[array.dtype])
    return (
        head
        + context
        + flag
        + np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()
    )


def write_ndarray_list(path: str, arrays: Dict[str, Optional[np.ndarray]], version="v2",
                       with_names=True) -> None:  # fmt: skip
    out = [struct.pack("<QQQ", 0x112, 0, len(arrays))]
    out += [_encode_array(a, version) for a in arrays.values()]
    names = list(arrays) if with_names else []
    out.append(struct.pack("<Q", len(names)))
    for name in names:
        raw = name.encode()
        out.append(struct.pack("<Q", len(raw)) + raw)
    with open(path, "wb") as f:
        f.write(b"".join(out))


# Our key -> the real MXNet name (the inverse of the documented mapping,
# written independently of the tool).
_BN = {"weight": "gamma", "bias": "beta", "running_mean": "moving_mean",
       "running_var": "moving_var"}  # fmt: skip


def _mxnet_name(key: str) -> Optional[str]:
    if key.endswith("num_batches_tracked"):
        return None
    if key == "conv1a.weight":
        return "arg:conv1a_weight"
    if key.startswith("bn7."):
        param = key[len("bn7.") :]
        return ("aux:" if "running" in param else "arg:") + f"bn7_{_BN[param]}"
    module, layer, param = key.split(".")
    match = re.fullmatch(r"b(\d)(?:_(\d+))?", module)
    unit = f"{match[1]}a" if match[2] is None else f"{match[1]}b{match[2]}"
    kind, branch = layer.split("_", 1)
    if kind == "conv":
        return f"arg:res{unit}_{branch}_weight"
    return ("aux:" if "running" in param else "arg:") + f"bn{unit}_{branch}_{_BN[param]}"


def _fake_mxnet_params(base_channels: int = 4, seed: int = 0) -> Dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    params = {}
    for key, value in ResNet38(base_channels=base_channels).state_dict().items():
        name = _mxnet_name(key)
        if name is not None:
            params[name] = rng.standard_normal(tuple(value.shape)).astype(np.float32)
    params["arg:linear1000_weight"] = rng.standard_normal((10, 64 * base_channels)).astype("f4")
    params["arg:linear1000_bias"] = rng.standard_normal(10).astype(np.float32)
    return params


# ------------------------------------------------------------- MXNet reader
@pytest.mark.parametrize("version", ["legacy", "v1", "v2", "v3"])
def test_reader_round_trips_every_version(tmp_path, version):
    arrays = {
        "arg:conv_weight": np.arange(24, dtype=np.float32).reshape(2, 3, 2, 2) / 7,
        "aux:stat": np.array([1.5, -2.25], dtype=np.float64),
        "arg:half": np.array([[0.5, 2.0]], dtype=np.float16),
        "arg:ints": np.array([-3, 4, 2**31 - 1], dtype=np.int32),
        "arg:bytes": np.array([0, 255], dtype=np.uint8),
        "arg:long": np.array([2**40], dtype=np.int64),
        "arg:none": None,
    }
    path = str(tmp_path / "x.params")
    write_ndarray_list(path, arrays, version)
    loaded, names = read_ndarray_list(path)
    assert names == list(arrays)
    for (name, expected), got in zip(arrays.items(), loaded):
        if expected is None:
            assert got is None
        else:
            assert got.dtype == expected.dtype and got.shape == expected.shape, name
            np.testing.assert_array_equal(got, expected)


def test_reader_without_names_and_load_requires_names(tmp_path):
    path = str(tmp_path / "list.nd")
    write_ndarray_list(path, {"a": np.ones(3, np.float32)}, with_names=False)
    arrays, names = read_ndarray_list(path)
    assert names == [] and arrays[0].tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="no names"):
        load_mxnet_params(path)


def test_reader_errors_name_file_and_problem(tmp_path):
    good = str(tmp_path / "good.params")
    write_ndarray_list(good, {"arg:w": np.ones((4, 4), np.float32)})
    data = open(good, "rb").read()

    truncated = tmp_path / "truncated.params"
    truncated.write_bytes(data[:70])  # 64 bytes of header, 6 of 64 data bytes
    with pytest.raises(ValueError, match=r"truncated\.params: file ends inside array 0 data"):
        read_ndarray_list(str(truncated))

    not_mxnet = tmp_path / "model.pth"
    not_mxnet.write_bytes(b"PK\x03\x04" + bytes(40))
    with pytest.raises(ValueError, match=r"model\.pth: not an MXNet NDArray list"):
        read_ndarray_list(str(not_mxnet))

    trailing = tmp_path / "trailing.params"
    trailing.write_bytes(data + b"\x00")
    with pytest.raises(ValueError, match="unexpected bytes after the name list"):
        read_ndarray_list(str(trailing))

    sparse = tmp_path / "sparse.params"
    sparse.write_bytes(struct.pack("<QQQ", 0x112, 0, 1) + struct.pack("<Ii", 0xF993FAC9, 1))
    with pytest.raises(ValueError, match="row_sparse storage is not supported"):
        read_ndarray_list(str(sparse))

    bad_dtype = tmp_path / "dtype.params"
    bad_dtype.write_bytes(data.replace(struct.pack("<iii", 1, 0, 0), struct.pack("<iii", 1, 0, 99)))
    with pytest.raises(ValueError, match="unsupported dtype flag 99"):
        read_ndarray_list(str(bad_dtype))

    with pytest.raises(FileNotFoundError):
        read_ndarray_list(str(tmp_path / "absent.params"))


# ------------------------------------------------------- MXNet -> ResNet38
def test_real_mxnet_names_map_to_resnet38_keys():
    cases = {
        "arg:conv1a_weight": "conv1a.weight",
        "arg:res2a_branch1_weight": "b2.conv_branch1.weight",
        "arg:res4b5_branch2a_weight": "b4_5.conv_branch2a.weight",
        "arg:bn3b2_branch2b1_gamma": "b3_2.bn_branch2b1.weight",
        "aux:bn4b5_branch2b1_moving_var": "b4_5.bn_branch2b1.running_var",
        "aux:bn5a_branch2a_moving_mean": "b5.bn_branch2a.running_mean",
        "arg:res7a_branch2b2_weight": "b7.conv_branch2b2.weight",
        "arg:bn6a_branch2b2_beta": "b6.bn_branch2b2.bias",
        "arg:bn7_gamma": "bn7.weight",
        "aux:bn7_moving_var": "bn7.running_var",
        "arg:linear1000_weight": None,
    }
    for name, key in cases.items():
        assert mx_tool.mxnet_name_to_resnet38(name) == key, name
    for bad in ("arg:res8a_branch1_weight", "arg:res2a_branch3_weight", "arg:fc8_weight",
                "arg:res2a_branch1_gamma"):  # fmt: skip
        with pytest.raises(KeyError):
            mx_tool.mxnet_name_to_resnet38(bad)


@pytest.mark.parametrize("version", ["legacy", "v2"])
def test_convert_mxnet_round_trip_loads_without_missing_keys(tmp_path, capsys, version):
    params = _fake_mxnet_params()
    src = str(tmp_path / "ilsvrc-cls_rna-a1_cls1000_ep-0001.params")
    dst = str(tmp_path / "out" / "resnet38.pth")
    write_ndarray_list(src, params, version)
    # Every real ResNet-38 array is there: 43 convs + 37 BN x 4, plus the classifier.
    assert len(params) == 43 + 37 * 4 + 2

    assert mx_tool.main([src, dst, "--check"]) == 0
    out = capsys.readouterr().out
    assert "check: 0 missing key(s)" in out and "check: 0 unexpected key(s)" in out
    assert "skipped 2 (arg:linear1000_weight, arg:linear1000_bias)" in out
    assert os.listdir(tmp_path / "out") == ["resnet38.pth"]  # no temp file left

    checkpoint = torch.load(dst, weights_only=True)
    assert checkpoint["meta"]["base_channels"] == 4 and checkpoint["meta"]["skipped"] == [
        "arg:linear1000_weight",
        "arg:linear1000_bias",
    ]
    model = ResNet38(base_channels=4)
    model.load_state_dict(checkpoint["state_dict"], strict=True)
    np.testing.assert_array_equal(
        model.b4_5.conv_branch2a.weight.detach().numpy(), params["arg:res4b5_branch2a_weight"]
    )
    np.testing.assert_array_equal(
        model.b6.bn_branch2b2.running_var.numpy(), params["aux:bn6a_branch2b2_moving_var"]
    )
    np.testing.assert_array_equal(model.bn7.bias.detach().numpy(), params["arg:bn7_beta"])


def test_convert_mxnet_pretrained_init_cfg(tmp_path):
    src, dst = str(tmp_path / "a.params"), str(tmp_path / "a.pth")
    params = _fake_mxnet_params(seed=3)
    write_ndarray_list(src, params)
    assert mx_tool.main([src, dst]) == 0
    model = ResNet38(base_channels=4, init_cfg=dict(type="Pretrained", checkpoint=dst))
    model.init_weights()
    np.testing.assert_array_equal(model.conv1a.weight.detach().numpy(), params["arg:conv1a_weight"])


def test_convert_mxnet_reports_unknown_and_missing(tmp_path, capsys):
    params = _fake_mxnet_params()
    params["arg:res9z_branch1_weight"] = np.zeros(1, np.float32)
    src, dst = str(tmp_path / "bad.params"), str(tmp_path / "bad.pth")
    write_ndarray_list(src, params)
    assert mx_tool.main([src, dst, "--check"]) == 1
    assert "arg:res9z_branch1_weight" in capsys.readouterr().err
    assert not os.path.exists(dst)

    params = _fake_mxnet_params()
    del params["aux:bn3b1_branch2a_moving_mean"]
    write_ndarray_list(src, params)
    assert mx_tool.main([src, dst, "--check"]) == 1
    captured = capsys.readouterr()
    # Its batch counter goes too: the converter adds one per running_mean.
    missing = "b3_1.bn_branch2a.num_batches_tracked, b3_1.bn_branch2a.running_mean"
    assert f"check: 2 missing key(s): {missing}\n" in captured.out
    assert captured.err == (
        "convert_resnet38_mxnet.py: error: the weights do not fit ResNet38; nothing written\n"
    )
    assert not os.path.exists(dst)
    assert mx_tool.main([str(tmp_path / "nope.params"), dst]) == 1
    err = capsys.readouterr().err
    assert (
        err.startswith("convert_resnet38_mxnet.py: error: [Errno 2] No such file") and "nope" in err
    )


# --------------------------------------------------- L2G release -> ours
def _fake_release_network(seed: int, prefix: str = "module.", with_pcm=True, classes=3):
    torch.manual_seed(seed)
    net = {f"{prefix}{k}": torch.randn_like(v.float()) if v.is_floating_point() else v
           for k, v in ResNet38(base_channels=4).state_dict().items()}  # fmt: skip
    net[f"{prefix}fc8.weight"] = torch.randn(classes + 1, 256, 1, 1)
    if with_pcm:
        net[f"{prefix}f8_3.weight"] = torch.randn(8, 32, 1, 1)  # conv4 (8w) -> 64 / 8
        net[f"{prefix}f8_4.weight"] = torch.randn(16, 64, 1, 1)  # conv5 (16w) -> 128 / 8
        net[f"{prefix}f9.weight"] = torch.randn(24, 3 + 8 + 16, 1, 1)
    return net


class _Head(torch.nn.Module):
    def __init__(self, with_pcm: bool, classes: int = 3):
        super().__init__()
        self.conv_cam = torch.nn.Conv2d(256, classes + 1, 1, bias=False)
        if with_pcm:
            self.pcm = PixelCorrelationModule((32, 64), (8, 16), 24)


class _TinyL2G(torch.nn.Module):
    """Mirrors the L2GClassifier key layout: {global,local}_{backbone,head}."""

    def __init__(self, with_pcm: bool = True):
        super().__init__()
        self.global_backbone = ResNet38(base_channels=4)
        self.local_backbone = ResNet38(base_channels=4)
        self.global_head = _Head(with_pcm)
        self.local_head = _Head(with_pcm)


def test_convert_l2g_checkpoint_round_trip(tmp_path, capsys):
    release = dict(
        epoch=9,
        global_counter=35270,
        state_dict=_fake_release_network(1),
        local_dict=_fake_release_network(2),
        optimizer=dict(state={}, param_groups=[dict(lr=0.001, params=[0, 1])]),
    )
    src, dst = str(tmp_path / "voc_epoch_9.pth"), str(tmp_path / "ours.pth")
    torch.save(release, src)
    assert l2g_tool.main([src, dst, "--check"]) == 0
    assert "3 classes, PCM present" in capsys.readouterr().out

    converted = torch.load(dst, weights_only=True)
    state_dict = converted["state_dict"]
    assert converted["meta"]["num_classes"] == 3 and converted["meta"]["release_epoch"] == 9
    model = _TinyL2G()
    assert compare_state_dicts(state_dict, model.state_dict()) == ([], [], [])
    model.load_state_dict(state_dict, strict=True)
    for ours, network in (("global", "state_dict"), ("local", "local_dict")):
        theirs = release[network]
        torch.testing.assert_close(
            getattr(model, f"{ours}_backbone").b4_5.conv_branch2b1.weight,
            theirs["module.b4_5.conv_branch2b1.weight"],
        )
        head = getattr(model, f"{ours}_head")
        torch.testing.assert_close(head.conv_cam.weight, theirs["module.fc8.weight"])
        torch.testing.assert_close(head.pcm.projs[0].weight, theirs["module.f8_3.weight"])
        torch.testing.assert_close(head.pcm.projs[1].weight, theirs["module.f8_4.weight"])
        torch.testing.assert_close(head.pcm.embed.weight, theirs["module.f9.weight"])
    assert not torch.equal(model.global_head.conv_cam.weight, model.local_head.conv_cam.weight)


def test_convert_l2g_without_prefix_pcm_or_batch_counters():
    network = _fake_release_network(1, prefix="", with_pcm=False)
    network = {k: v for k, v in network.items() if not k.endswith("num_batches_tracked")}
    release = dict(state_dict=network, local_dict=dict(network))
    state_dict, meta = l2g_tool.convert_checkpoint(release)
    assert meta["with_pcm"] is False
    assert int(state_dict["local_backbone.b3.bn_branch2a.num_batches_tracked"]) == 0
    assert compare_state_dicts(state_dict, _TinyL2G(with_pcm=False).state_dict()) == ([], [], [])


def test_convert_l2g_errors_name_the_keys(tmp_path, capsys):
    bad = _fake_release_network(1)
    bad["module.extra.weight"] = torch.zeros(1)
    bad["module.fc9.weight"] = torch.zeros(1)
    src, dst = str(tmp_path / "bad.pth"), str(tmp_path / "bad_out.pth")
    torch.save(dict(state_dict=bad, local_dict=_fake_release_network(2)), src)
    assert l2g_tool.main([src, dst]) == 1
    err = capsys.readouterr().err
    assert "['state_dict']: 2 unknown key(s): extra.weight, fc9.weight" in err
    assert not os.path.exists(dst)

    with pytest.raises(ValueError, match="no 'local_dict' dict"):
        l2g_tool.convert_checkpoint(dict(state_dict=_fake_release_network(1)))
    partial = _fake_release_network(1)
    del partial["module.f9.weight"]
    with pytest.raises(ValueError, match=r"incomplete pixel correlation module, missing \['f9"):
        l2g_tool.convert_checkpoint(dict(state_dict=partial, local_dict=partial))
    short = _fake_release_network(1)
    del short["module.b5_2.conv_branch2a.weight"]
    with pytest.raises(ValueError, match="1 ResNet-38 key.s. missing: b5_2.conv_branch2a.weight"):
        l2g_tool.convert_checkpoint(dict(state_dict=short, local_dict=short))
    wrong = _fake_release_network(1)
    wrong["module.b3.conv_branch1.weight"] = torch.zeros(16, 8, 3, 3)
    with pytest.raises(ValueError, match=r"b3.conv_branch1.weight: \(16, 8, 3, 3\), expected"):
        l2g_tool.convert_checkpoint(dict(state_dict=wrong, local_dict=wrong))


def test_convert_l2g_writes_the_dataset_meta_mmseg_init_model_reads(tmp_path, capsys):
    voc = l2g_tool.release_dataset_meta(20)
    assert len(voc["classes"]) == 21 and voc["classes"][:2] == ["background", "aeroplane"]
    assert voc["palette"][1] == [128, 0, 0] and len(voc["palette"]) == 21
    coco = l2g_tool.release_dataset_meta(80)
    assert len(coco["classes"]) == 81 and coco["classes"][1] == "person"
    assert l2g_tool.release_dataset_meta(3) is None
    network = _fake_release_network(1, classes=20)
    _, meta = l2g_tool.convert_checkpoint(dict(state_dict=network, local_dict=dict(network)))
    assert meta["dataset_meta"] == voc
    # 3 classes (neither dataset): no dataset_meta, and the tool says so.
    release = dict(state_dict=_fake_release_network(1), local_dict=_fake_release_network(2))
    src, dst = str(tmp_path / "three.pth"), str(tmp_path / "ours.pth")
    torch.save(release, src)
    assert l2g_tool.main([src, dst]) == 0
    assert "neither VOC's 20 nor COCO's 80: no dataset_meta written" in capsys.readouterr().out
    assert "dataset_meta" not in torch.load(dst, weights_only=True)["meta"]

"""The benchmarks' shared options: ``run_all.py`` passes on exactly what it was given."""

from benchmarks import bench_train_step, run_all
from benchmarks.common import R50_BASE_CONFIG, backbone_and_channels, settings_of


def test_run_all_passes_the_shared_options_on():
    args = run_all.parse_args(["--backbone", "plaincnn", "--global-size", "64", "--seed", "3"])
    argv = run_all.bench_argv(args, "train_step", amp=False)
    assert argv == [
        "--backbone=plaincnn",
        "--global-size=64",
        "--crop-size=90",
        "--num-views=6",
        "--device=cpu",
        "--seed=3",
    ]
    bench = bench_train_step.parse_args(argv)
    assert (bench.backbone, bench.global_size, bench.seed, bench.threads) == (
        "plaincnn",
        64,
        3,
        None,
    )
    args = run_all.parse_args(["--threads", "2", "--train-step-args", "--repeats 4"])
    argv = run_all.bench_argv(args, "train_step", amp=False)
    assert "--threads=2" in argv and argv[-2:] == ["--repeats", "4"]
    assert bench_train_step.parse_args(argv).threads == 2


def test_settings_leave_out_the_output_path():
    args = bench_train_step.parse_args(["--out", "x.json", "--repeats", "3"])
    settings = settings_of(args)
    assert (
        "out" not in settings and settings["repeats"] == 3 and settings["backbone"] == "synthetic"
    )


def test_resnet50_backbone_is_the_configs_without_download():
    from mmengine.config import Config

    backbone, channels = backbone_and_channels("resnet50")
    expected = Config.fromfile(R50_BASE_CONFIG).model.backbone.to_dict()
    assert expected.pop("init_cfg")["type"] == "Pretrained"
    assert backbone == expected and channels == 2048
    assert backbone["dilations"] == (1, 1, 2, 4)

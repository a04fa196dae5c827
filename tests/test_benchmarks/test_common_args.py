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


def test_quantity_rows_read_each_benchmarks_measurements():
    stage2 = dict(
        benchmark="stage2",
        measurements=dict(
            ms_per_image=dict(generation=57.84, forward=42.71, generation_single=55.66),
            images_per_s=17.29,
        ),
    )
    assert run_all.quantity_rows("stage2", stage2) == [
        ["stage2", "generation (ms/image)", "57.8"],
        ["stage2", "network forward (ms/image)", "42.7"],
        ["stage2", "generation, one image at a time (ms/image)", "55.7"],
        ["stage2", "generation images/s", "17.3"],
    ]
    times = dict(l2g_step=dict(median=33.04), cam_step=dict(median=12.0))
    train = dict(
        benchmark="train_step",
        measurements=dict(
            times_ms=times,
            parts_sum_ms=30.0,
            l2g_iters_per_s=30.266,
            l2g_images_per_s=60.5,
            cam_images_per_s=166.66,
            peak_step_memory_mib=dict(l2g=12.34),
        ),
    )
    rows = run_all.quantity_rows("ts", train)
    assert rows[0] == ["ts", "L2G train_step (ms)", "33.0"]
    assert rows[3] == ["ts", "L2G iterations/s", "30.27"]
    assert rows[-1] == ["ts", "peak step memory l2g (MiB)", "12.3"]
    assert len(rows) == 7
    assert run_all.quantity_rows("x", dict(benchmark="other", measurements={})) == []

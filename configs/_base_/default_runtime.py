# Runtime shared by every mmseg_l2g config.
default_scope = "mmseg"
custom_imports = dict(imports=["mmseg_l2g"], allow_failed_imports=False)
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method="fork", opencv_num_threads=0),
    dist_cfg=dict(backend="nccl"),  # tools/train.py switches to gloo without CUDA
)
vis_backends = [dict(type="LocalVisBackend")]
# No fixed name: each Runner gets its own visualizer (a shared name would send a
# second in-process run's scalars to the first run's folder).
visualizer = dict(type="SegLocalVisualizer", vis_backends=vis_backends)
log_level = "INFO"
load_from = None
resume = False
randomness = dict(seed=0)

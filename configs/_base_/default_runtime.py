# Runtime shared by every mmseg_l2g config.
default_scope = "mmseg"
custom_imports = dict(imports=["mmseg_l2g"], allow_failed_imports=False)
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method="fork", opencv_num_threads=0),
    dist_cfg=dict(backend="nccl"),  # tools/train.py switches to gloo without CUDA
)
vis_backends = [dict(type="LocalVisBackend")]
# mmseg's SegLocalVisualizer plus L2G's local views, saliency and CAMs; named, as mmseg's
# (its browse_dataset.py builds it from this dict), yet one per run (see its docstring).
visualizer = dict(type="L2GLocalVisualizer", vis_backends=vis_backends, name="visualizer")
log_level = "INFO"
load_from = None
resume = False
randomness = dict(seed=0)

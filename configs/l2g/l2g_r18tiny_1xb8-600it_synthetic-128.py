# L2G (attention transfer, no saliency) on the built-in synthetic data.
_base_ = [
    "../_base_/models/l2g_r18tiny.py",
    "../_base_/datasets/synthetic_l2g.py",
    "../_base_/schedules/synthetic_600it.py",
    "../_base_/default_runtime.py",
]
model = dict(loss_shape=None)

# L2G, r50, the release's settings on voc12aug (attention transfer: no saliency is loaded).
_base_ = [
    "../_base_/models/l2g_r50.py",
    "../_base_/datasets/voc12aug_l2g.py",
    "../_base_/schedules/l2g_sgd_10e.py",
    "../_base_/default_runtime.py",
    "../_base_/tta_l2g.py",
]
model = dict(head=dict(num_classes=20))

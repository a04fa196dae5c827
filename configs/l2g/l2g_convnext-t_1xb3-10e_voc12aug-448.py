# L2G, convnext-t (mmpretrain, ImageNet-1k weights), the release's protocol on voc12aug
# (attention transfer: no saliency is loaded); AdamW, see l2g_adamw_10e.py.
_base_ = [
    "../_base_/models/l2g_convnext-t.py",
    "../_base_/datasets/voc12aug_l2g.py",
    "../_base_/schedules/l2g_adamw_10e.py",
    "../_base_/default_runtime.py",
    "../_base_/tta_l2g.py",
]
model = dict(head=dict(num_classes=20))

# L2G, swin-t (mmpretrain, ImageNet-1k weights), the release's protocol on coco14
# (attention transfer: no saliency is loaded); AdamW, see l2g_adamw_10e.py.
_base_ = [
    "../_base_/models/l2g_swin-t.py",
    "../_base_/datasets/coco14_l2g.py",
    "../_base_/schedules/l2g_adamw_10e.py",
    "../_base_/default_runtime.py",
    "../_base_/tta_l2g.py",
]
model = dict(head=dict(num_classes=80))

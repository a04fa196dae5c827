# L2G with the tiny ViT (patch 8, output stride 8) on the built-in synthetic data: the
# PlainCNN config's data, views and budget, AdamW instead of SGD. No saliency is loaded,
# so every image uses the attention transfer loss.
_base_ = [
    "../_base_/models/l2g_tinyvit.py",
    "../_base_/datasets/synthetic_l2g.py",
    "../_base_/schedules/synthetic_600it_adamw.py",
    "../_base_/default_runtime.py",
    "../_base_/tta_l2g.py",
]
train_dataloader = dict(sampler=dict(type="SeededInfiniteSampler", shuffle=True))

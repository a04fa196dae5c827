# L2G with shape transfer: saliency maps are loaded and follow the global view.
_base_ = ["./l2g_plaincnn_1xb8-600it_synthetic-128.py"]
train_dataloader = dict(
    dataset=dict(
        pipeline=[
            dict(type="LoadWSSSImage"),
            dict(type="LoadSaliencyMap"),
            dict(type="ResizeWithSaliency", scale=(128, 128), keep_ratio=False),
            dict(type="RandomFlipWithSaliency", prob=0.5),
            dict(type="LocalCropTransform", num_views=6, crop_size=90, mode="random"),
            dict(type="PackL2GInputs"),
        ]
    )
)

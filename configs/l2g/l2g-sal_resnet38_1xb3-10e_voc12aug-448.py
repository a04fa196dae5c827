# L2G with shape transfer: saliency maps (data_prefix.sal_path) follow the global view.
_base_ = ["./l2g_resnet38_1xb3-10e_voc12aug-448.py"]
train_dataloader = dict(
    dataset=dict(
        pipeline=[
            dict(type="LoadWSSSImage"),
            dict(type="LoadSaliencyMap"),
            dict(type="ResizeWithSaliency", scale=(448, 448), keep_ratio=False),
            dict(type="RandomFlipWithSaliency", prob=0.5),
            dict(
                type="PhotoMetricDistortion",
                brightness_delta=32,
                contrast_range=(0.7, 1.3),
                saturation_range=(0.7, 1.3),
                hue_delta=18,
            ),
            dict(type="LocalCropTransform", num_views=6, crop_size=320, mode="random"),
            dict(type="PackL2GInputs"),
        ]
    )
)

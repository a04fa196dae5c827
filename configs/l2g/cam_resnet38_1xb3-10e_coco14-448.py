# The plain-CAM baseline on coco14: the global network alone with a classification loss.
_base_ = ["./l2g_resnet38_1xb3-10e_coco14-448.py"]
model = dict(with_local=False, global_cls_weight=1.0)
train_dataloader = dict(
    dataset=dict(
        pipeline=[
            dict(type="LoadWSSSImage"),
            dict(type="ResizeWithSaliency", scale=(448, 448), keep_ratio=False),
            dict(type="RandomFlipWithSaliency", prob=0.5),
            dict(
                type="PhotoMetricDistortion",
                brightness_delta=32,
                contrast_range=(0.7, 1.3),
                saturation_range=(0.7, 1.3),
                hue_delta=18,
            ),
            dict(type="PackL2GInputs"),
        ]
    )
)

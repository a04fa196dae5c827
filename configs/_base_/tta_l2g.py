# Test-time augmentation of the L2G configs (tools/test.py --tta): the release's CAM
# readout, the original image at 4 scales, each as is and flipped, merged by L2GTTAModel
# (mean of the raw logits upsampled bicubically to the image, ReLU, max-normalised,
# background threshold). Images of different sizes need test_dataloader.batch_size=1.
tta_scales = [0.5, 1.0, 1.5, 2.0]
tta_model = dict(type="L2GTTAModel")
tta_pipeline = [
    dict(type="LoadImageFromFile", imdecode_backend="pillow"),  # as the test pipelines
    dict(
        type="TestTimeAug",
        transforms=[
            [dict(type="Resize", scale_factor=scale, keep_ratio=True) for scale in tta_scales],
            [
                dict(type="RandomFlip", prob=0.0, direction="horizontal"),
                dict(type="RandomFlip", prob=1.0, direction="horizontal"),
            ],
            [dict(type="LoadWSSSAnnotations")],
            [dict(type="PackL2GInputs")],
        ],
    ),
]

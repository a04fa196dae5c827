# Test-time augmentation of the L2G configs (tools/test.py --tta): stage 2's CAM readout,
# the model's test_cfg (default the release's: scales 0.5 / 1 / 1.5 / 2, each as is and
# flipped). L2GTTAModel reads those views itself from the image at its own size, so this
# pipeline neither resizes nor flips (see L2GTTAModel for why not TestTimeAug).
# Images of different sizes need test_dataloader.batch_size=1.
tta_model = dict(type="L2GTTAModel")
tta_pipeline = [
    dict(type="LoadImageFromFile", imdecode_backend="pillow"),  # as the test pipelines
    dict(type="LoadWSSSAnnotations"),
    dict(type="PackL2GInputs"),
]

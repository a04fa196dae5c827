# Stock mmseg DeepLab-v3+ (ResNetV1c-101, output stride 8) trained on L2G pseudo masks of
# VOC 2012 train_aug (10,582 images) and validated on the real VOC val ground truth.
#
# Only the training data differs from the stock config: one PascalVOCDataset over
# ImageSets/Segmentation/train_aug.txt (written by tools/prepare_voc.py; mmseg's own
# tools/dataset_converters/voc_aug.py writes the same list as trainaug.txt) whose masks are read
# from `pseudo_mask_dir` instead of SegmentationClass / SegmentationClassAug.
# Masks there are `<img_id>.png` (0 background, c class c, 255 ignore), e.g. the `masks/` folder
# of `python tools/gen_pseudo.py CONFIG CKPT --out-dir data/VOCdevkit/VOC2012/l2g_pseudo`.
# A relative `pseudo_mask_dir` is joined to `data_root` (mmseg's rule); elsewhere, override:
#   --cfg-options train_dataloader.dataset.data_prefix.seg_map_path=/abs/path/to/masks
# Dense CRF at test time (needs `pip install pydensecrf2`):
#   --cfg-options model.type=CRFEncoderDecoder model.test_cfg.crf.iters=10
_base_ = "mmseg::deeplabv3plus/deeplabv3plus_r101-d8_4xb4-40k_voc12aug-512x512.py"
custom_imports = dict(imports=["mmseg_l2g"], allow_failed_imports=False)
# Stops before a non-finite learning rate or weight is used or saved.
default_hooks = dict(finite_check=dict(type="FiniteTrainingHook"))

pseudo_mask_dir = "l2g_pseudo/masks"
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type="PascalVOCDataset",
        data_root="data/VOCdevkit/VOC2012",
        data_prefix=dict(img_path="JPEGImages", seg_map_path=pseudo_mask_dir),
        ann_file="ImageSets/Segmentation/train_aug.txt",
        pipeline={{_base_.train_pipeline}},
    )
)

# MS COCO 2014 (80 classes) as tools/prepare_coco.py lays it out.
_base_ = ["./voc12aug_l2g.py"]
dataset_type = "COCOWSSSDataset"
data_root = "data/coco2014"
train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file="ImageSets/train2014.txt",
        label_file="train2014_cls.txt",
        data_prefix=dict(
            _delete_=True,
            img_path="JPEGImages/train2014",
            seg_map_path="SegmentationClass/train2014",
            sal_path="saliency_maps/train2014",
        ),
    )
)
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file="ImageSets/val2014.txt",
        label_file="val2014_cls.txt",
        data_prefix=dict(
            _delete_=True, img_path="JPEGImages/val2014", seg_map_path="SegmentationClass/val2014"
        ),
    )
)
test_dataloader = val_dataloader

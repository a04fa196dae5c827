# Your own data in the VOC layout: the one file to edit (README "Your own data").
#
#   DATA_ROOT/JPEGImages/<id>.jpg
#   DATA_ROOT/SegmentationClass/<id>.png     class indices (palette or grey), 255 ignored
#   DATA_ROOT/ImageSets/Segmentation/{train,val}.txt   (+ optional {train,val}_cls.txt)
#   DATA_ROOT/Saliency/<id>.png              optional grey saliency maps (l2g-sal only)
#
# The L2G, plain-CAM, L2G + saliency and DeepLab configs of this folder list this file
# as a base and take from it the data root, the class names (and so the class counts)
# and the saliency folder. Outside a checkout, copy this folder and replace the other
# bases' "../" by "mmseg_l2g::" (a regular install resolves the scope).
own_data_root = "data/my_voc_layout"
# Background first, then the foreground classes in label-index order.
own_classes = ("background", "class_a", "class_b")
own_saliency_dir = "Saliency"

# L2G on the built-in synthetic data. No saliency is loaded, so every image uses
# the attention transfer loss (the shape loss stays configured but unused: loss_st = 0).
_base_ = [
    "../_base_/models/l2g_plaincnn.py",
    "../_base_/datasets/synthetic_l2g.py",
    "../_base_/schedules/synthetic_600it.py",
    "../_base_/default_runtime.py",
    "../_base_/tta_l2g.py",
]
# Each draw of a sample gets its transforms' seed from (run seed, pass, index):
# the same seed gives the same batches with any number of loader workers.
train_dataloader = dict(sampler=dict(type="SeededInfiniteSampler", shuffle=True))

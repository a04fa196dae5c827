# The loops and hooks both schedules share; each adds its logger and checkpoint intervals.
val_cfg = dict(type="ValLoop")
test_cfg = dict(type="TestLoop")
default_hooks = dict(
    timer=dict(type="IterTimerHook"),
    logger=dict(type="LoggerHook", log_metric_by_epoch=False),
    param_scheduler=dict(type="ParamSchedulerHook"),
    checkpoint=dict(type="CheckpointHook"),
    sampler_seed=dict(type="DistSamplerSeedHook"),
    finite_check=dict(type="FiniteTrainingHook"),  # no NaN weights saved
    # draws only when tools/test.py --show / --show-dir turns it on (mmseg's)
    visualization=dict(type="SegVisualizationHook"),
)

"""The ``mmseg_l2g`` registry scope: a child of each of mmseg's registries.

The plugin registers its components in mmseg's own registries (configs reach them
with ``default_scope = 'mmseg'``). A config that inherits one of the package's
configs as ``_base_ = 'mmseg_l2g::...'`` gets ``_scope_ = 'mmseg_l2g'`` on every
inherited component; MMEngine then imports this module and searches these
children, which hold nothing themselves and defer every name to mmseg's registry
(and from there to MMEngine's), so the components build exactly as under 'mmseg'.
"""

from mmengine.registry import Registry
from mmseg import registry as mmseg_registry

SCOPE = "mmseg_l2g"


def _child(parent: Registry) -> Registry:
    # ``locations``: what registers the names this child defers to its parent: the
    # package (in mmseg's registries) and the modules mmseg's registry imports itself.
    locations = [SCOPE, *parent._locations]
    return Registry(parent.name, parent=parent, scope=SCOPE, locations=locations)


DATA_SAMPLERS = _child(mmseg_registry.DATA_SAMPLERS)
DATASETS = _child(mmseg_registry.DATASETS)
EVALUATOR = _child(mmseg_registry.EVALUATOR)
HOOKS = _child(mmseg_registry.HOOKS)
INFERENCERS = _child(mmseg_registry.INFERENCERS)
LOG_PROCESSORS = _child(mmseg_registry.LOG_PROCESSORS)
LOOPS = _child(mmseg_registry.LOOPS)
METRICS = _child(mmseg_registry.METRICS)
MODEL_WRAPPERS = _child(mmseg_registry.MODEL_WRAPPERS)
MODELS = _child(mmseg_registry.MODELS)
OPTIM_WRAPPER_CONSTRUCTORS = _child(mmseg_registry.OPTIM_WRAPPER_CONSTRUCTORS)
OPTIM_WRAPPERS = _child(mmseg_registry.OPTIM_WRAPPERS)
OPTIMIZERS = _child(mmseg_registry.OPTIMIZERS)
PARAM_SCHEDULERS = _child(mmseg_registry.PARAM_SCHEDULERS)
RUNNER_CONSTRUCTORS = _child(mmseg_registry.RUNNER_CONSTRUCTORS)
RUNNERS = _child(mmseg_registry.RUNNERS)
TASK_UTILS = _child(mmseg_registry.TASK_UTILS)
TRANSFORMS = _child(mmseg_registry.TRANSFORMS)
VISBACKENDS = _child(mmseg_registry.VISBACKENDS)
VISUALIZERS = _child(mmseg_registry.VISUALIZERS)
WEIGHT_INITIALIZERS = _child(mmseg_registry.WEIGHT_INITIALIZERS)

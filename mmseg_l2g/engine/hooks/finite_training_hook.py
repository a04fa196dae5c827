"""Stops training before a non-finite learning rate or weight can reach a checkpoint.

The model's ``parse_losses`` refuses a NaN / infinite loss, but a NaN learning
rate poisons the weights on a step whose loss is still finite: without this
hook the next ``CheckpointHook`` save writes NaN weights and names them in
``last_checkpoint``. This hook checks the learning rates before each step and
the weights after each step (it runs before ``CheckpointHook``) and again
before every save, and raises ``FloatingPointError`` naming what is not
finite; nothing non-finite is saved, so ``last_checkpoint`` keeps naming the
last finite checkpoint.
"""

from __future__ import annotations

import math
from typing import Iterable, Iterator, List, Optional, Tuple

import torch
from mmengine.hooks import Hook
from mmseg.registry import HOOKS


def learning_rates(lrs: dict) -> List[Tuple[str, float]]:
    """Flattens ``optim_wrapper.get_lr()`` (name -> one value per group) into pairs."""
    return [
        (name, float(value))
        for name, values in lrs.items()
        for value in (values if isinstance(values, (list, tuple)) else [values])
    ]


def first_nonfinite_tensor(
    named_tensors: Iterable[Tuple[str, torch.Tensor]],
) -> Optional[Tuple[str, str]]:
    """The first floating-point tensor holding NaN or infinity, with what it holds.

    One device synchronisation when every tensor is finite (the common case).

    Args:
        named_tensors: ``(name, tensor)`` pairs (parameters and buffers).

    Returns:
        ``(name, 'nan' | 'inf')``, or None when every tensor is finite.
    """
    tensors = [(n, t.detach()) for n, t in named_tensors if t.is_floating_point() and t.numel()]
    if not tensors:
        return None
    finite = torch.stack([torch.isfinite(t).all() for _, t in tensors])
    if bool(finite.all()):
        return None
    name, tensor = tensors[int((~finite).nonzero()[0])]
    return name, "nan" if bool(torch.isnan(tensor).any()) else "inf"


@HOOKS.register_module()
class FiniteTrainingHook(Hook):
    """Raises before a non-finite learning rate or weight is used or saved.

    Args:
        interval: check the weights after every ``interval`` iterations (they
            are always checked before a checkpoint is saved).
    """

    priority = "ABOVE_NORMAL"  # after_train_iter before CheckpointHook (VERY_LOW) saves

    def __init__(self, interval: int = 1) -> None:
        if not isinstance(interval, int) or interval < 1:
            raise ValueError(
                f"FiniteTrainingHook: interval must be a positive integer, got {interval!r}"
            )
        self.interval = interval

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        """Refuses a NaN or infinite learning rate before the step uses it."""
        lrs = learning_rates(runner.optim_wrapper.get_lr())
        bad = [(name, value) for name, value in lrs if not math.isfinite(value)]
        if bad:
            # One entry per distinct value: the groups' lr (base_lr follows it).
            shown = [(name, value) for name, value in bad if name == "lr"] or bad
            settings = ", ".join(dict.fromkeys(f"{name} = {value}" for name, value in shown))
            raise FloatingPointError(
                f"learning rate not finite at iteration {runner.iter + 1} ({settings}); "
                "training stopped before the update, nothing was saved from it: set a finite "
                "optim_wrapper.optimizer.lr and check param_scheduler"
            )

    def after_train_iter(
        self, runner, batch_idx: int, data_batch=None, outputs: Optional[dict] = None
    ) -> None:
        """Checks the weights after the step, before any hook saves them."""
        if self.every_n_train_iters(runner, self.interval):
            self._check_weights(runner, f"after iteration {runner.iter + 1}")

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Refuses to let a checkpoint with non-finite weights be written."""
        self._check_weights(runner, f"before saving the checkpoint of iteration {runner.iter}")

    @staticmethod
    def _check_weights(runner, when: str) -> None:
        model = runner.model
        found = first_nonfinite_tensor(_named_state(model))
        if found is None:
            return
        name, kind = found
        lrs = ", ".join(f"{n} = {v}" for n, v in learning_rates(runner.optim_wrapper.get_lr()))
        raise FloatingPointError(
            f"weights not finite {when}: '{name}' holds {kind} (learning rates: {lrs}); "
            "training stopped and this state was not saved, so every checkpoint in the work "
            "dir holds finite weights: lower the learning rate or check the optimizer settings "
            "and the data before training again"
        )


def _named_state(model: torch.nn.Module) -> Iterator[Tuple[str, torch.Tensor]]:
    yield from model.named_parameters()
    yield from model.named_buffers()

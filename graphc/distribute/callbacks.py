"""Horovod's Keras callbacks, for programs written against ``horovod.keras``."""
from __future__ import annotations

from ..callbacks import Callback
from .strategy import _STATE


def _strategy():
    strategy = _STATE['strategy']
    if strategy is None:
        raise RuntimeError("graphc.distribute.init() must be called before training with "
                           "graphc.distribute callbacks")
    return strategy


class BroadcastGlobalVariablesCallback(Callback):
    """Start training from ``root_rank``'s weights and optimizer state on every rank.

    graphc's data-parallel step broadcasts them by itself before its first step; this
    callback picks the rank they come from (default 0), so a Horovod program runs unchanged.

    Args:
        root_rank: the rank whose values every rank starts from.
    """

    def __init__(self, root_rank=0):
        super().__init__()
        self.root_rank = int(root_rank)

    def on_train_begin(self, logs=None):
        strategy = _strategy()
        if not 0 <= self.root_rank < strategy.size:
            raise ValueError(f"BroadcastGlobalVariablesCallback: root_rank must be in "
                             f"[0, {strategy.size}), got {self.root_rank}")
        if getattr(self.model, '_dist_root', 0) != self.root_rank:
            self.model._dist_root = self.root_rank
            self.model._dist_synced = False


class MetricAverageCallback(Callback):
    """Average the epoch's logged metrics over ranks.

    graphc already reduces the training metrics in every step and the validation metrics
    once per epoch, so this changes only values that a callback placed before it computed
    per rank. Accepted so Horovod programs run unchanged.
    """

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            _strategy().average_logs(logs)

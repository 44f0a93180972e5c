"""The query-grouped batch plan (mrs.toolkit.batching) as a sentence-transformers batch sampler.

``SentenceTransformerTrainer`` builds its DataLoader with ``args.batch_sampler(dataset, batch_size=...,
drop_last=..., valid_label_columns=..., generator=..., seed=...)`` and calls ``set_epoch(epoch)`` at the start of
every epoch; ``QueryGroupedBatchSampler`` answers with the plan of that epoch (row indices into the training
dataset, whose rows are the TrainingExamples in order). Under distributed training accelerate hands every
process whole batches of the plan in turn (batch i to process i mod world size).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from sentence_transformers.base.sampler import DefaultBatchSampler

# plan(epoch) -> that epoch's batches, each a list of row indices into the training dataset.
EpochPlan = Callable[[int], list[list[int]]]


class QueryGroupedBatchSampler(DefaultBatchSampler):
    """Batches of ``plan(epoch)`` for the epoch the trainer set; the plan is asked once per epoch.

    dataset, batch_size, drop_last, valid_label_columns, generator, seed: what the trainer passes to every
    batch sampler (batch_size and the shuffling already live in the plan; drop_last is refused because the
    plan's batches differ in size by design). plan: epoch → batches (mrs.toolkit.training.epoch_plan).
    """

    def __init__(self, dataset, batch_size: int, drop_last: bool, valid_label_columns=None, generator=None,
                 seed: int = 0, *, plan: EpochPlan) -> None:
        if drop_last:
            raise ValueError("the query-grouped plan keeps every batch; leave dataloader_drop_last off")
        super().__init__(dataset, batch_size=batch_size, drop_last=False, valid_label_columns=valid_label_columns,
                         generator=generator, seed=seed)
        self.plan = plan
        self._cached: tuple[int, list[list[int]]] | None = None

    def batches(self) -> list[list[int]]:
        """The current epoch's batches (planned on first use)."""
        if self._cached is None or self._cached[0] != self.epoch:
            self._cached = (self.epoch, self.plan(self.epoch))
        return self._cached[1]

    def __iter__(self) -> Iterator[list[int]]:
        yield from self.batches()

    def __len__(self) -> int:
        return len(self.batches())

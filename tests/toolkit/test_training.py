"""The trainer path: the batch plan as the trainer's sampler, labels, weight-decay groups, checkpoints and
resume, refused settings, and the dev evaluator."""

from __future__ import annotations

import math

import pytest
import torch

from mrs.data.judgments import Judgment, JudgmentSet
from mrs.data.levels import ESCI
from mrs.errors import InputError
from mrs.toolkit.batching import TrainingExample
from mrs.toolkit.dev_eval import DevEvaluator
from mrs.toolkit.losses.base import gather_products
from mrs.toolkit.losses.supcon import GradedSupConLoss
from mrs.toolkit.sampler import QueryGroupedBatchSampler
from mrs.toolkit.training import TrainingConfig, _trainer, _training_arguments, fit, training_dataset

ROWS = [
    TrainingExample("q1", "q1", "red shirt", "p1", "Red cotton shirt", 3),
    TrainingExample("q1", "q1", "red shirt", "p2", "Shirt hanger", 0),
    TrainingExample("q1~sp0", "q1", "rde shirt", "p1", "Red cotton shirt", 3),
    TrainingExample("q2", "q2", "usb cable", "p3", "USB-C cable 2m", 3),
    TrainingExample("q2", "q2", "usb cable", "p4", "Desk lamp", 0),
    TrainingExample("q3", "q3", "desk lamp", "p4", "Desk lamp", 3),
]


def plan(epoch: int) -> list[list[int]]:
    """Two batches whose order changes with the epoch (no query twice in a batch)."""
    batches = [[0, 1, 3, 4], [2, 5]]
    return batches if epoch % 2 == 0 else batches[::-1]


def test_sampler_yields_the_plan_of_the_epoch_the_trainer_sets():
    sampler = QueryGroupedBatchSampler(training_dataset(ROWS), batch_size=4, drop_last=False, plan=plan)
    assert list(sampler) == [[0, 1, 3, 4], [2, 5]] and len(sampler) == 2
    sampler.set_epoch(1)
    assert list(sampler) == [[2, 5], [0, 1, 3, 4]]
    with pytest.raises(ValueError, match="drop_last"):
        QueryGroupedBatchSampler(training_dataset(ROWS), batch_size=4, drop_last=True, plan=plan)


def test_dataset_labels_number_query_variants_over_the_whole_dataset():
    dataset = training_dataset(ROWS)
    assert dataset.column_names == ["query", "product", "label"]
    assert dataset["label"] == [[0, 3], [0, 0], [1, 3], [2, 3], [2, 0], [3, 3]]


def test_gather_is_the_identity_in_one_process():
    emb, labels = torch.randn(3, 4), torch.tensor([[0, 3], [0, 0], [1, 3]])
    gathered_emb, gathered_labels = gather_products(emb, labels)
    assert gathered_emb is emb and gathered_labels is labels


def test_weight_decay_spares_biases_and_layernorm(minilm, tmp_path):
    args = _training_arguments(TrainingConfig(device="cpu"), tmp_path, plan, evaluating=False)
    trainer = _trainer(minilm, GradedSupConLoss(minilm), args, training_dataset(ROWS), None, None)
    optimizer = trainer.create_optimizer()
    names = {id(p): n for n, p in minilm.named_parameters()}
    decayed = [g for g in optimizer.param_groups if g["weight_decay"] > 0]
    undecayed = [g for g in optimizer.param_groups if g["weight_decay"] == 0]
    assert len(decayed) == 1 and len(undecayed) == 1
    decayed_names = [names[id(p)] for p in decayed[0]["params"]]
    undecayed_names = [names[id(p)] for p in undecayed[0]["params"]]
    assert decayed_names and all("bias" not in n and "LayerNorm" not in n for n in decayed_names)
    assert any("LayerNorm.weight" in n for n in undecayed_names) and any(n.endswith("bias") for n in undecayed_names)
    assert decayed[0]["weight_decay"] == 0.01


def test_checkpoints_and_resume_continue_the_same_run(tmp_path):
    from mrs.models import load_sentence_transformer

    checkpoints = tmp_path / "checkpoints"
    config = TrainingConfig(max_steps=2, epochs=5, save_steps=1, lr=1e-4, device="cpu", max_seq_length=16)
    model = load_sentence_transformer(None, device="cpu")
    first = fit(model, GradedSupConLoss(model), ROWS, plan, config, checkpoints)
    assert first.steps == 2 and first.resumed_from is None
    assert sorted(p.name for p in checkpoints.iterdir()) == ["checkpoint-1", "checkpoint-2"]

    longer = TrainingConfig(max_steps=3, epochs=5, save_steps=1, lr=1e-4, device="cpu", max_seq_length=16, resume=True)
    model = load_sentence_transformer(None, device="cpu")
    resumed = fit(model, GradedSupConLoss(model), ROWS, plan, longer, checkpoints)
    assert resumed.resumed_from.endswith("checkpoint-2")
    assert resumed.steps == 3 and resumed.step_losses[:2] == first.step_losses
    assert resumed.args["save_steps"] == 1 and resumed.args["weight_decay_on"].startswith("all weights except")


def test_resume_without_a_checkpoint_and_unrunnable_settings_are_refused(tmp_path):
    with pytest.raises(InputError, match="no checkpoint under"):
        fit(None, None, ROWS, plan, TrainingConfig(resume=True, device="cpu"), tmp_path / "none")
    with pytest.raises(InputError, match="--fp16 needs a CUDA GPU"):
        fit(None, None, ROWS, plan, TrainingConfig(precision="fp16", device="cpu"), tmp_path)
    with pytest.raises(InputError, match="CUDA_VISIBLE_DEVICES"):
        fit(None, None, ROWS, plan, TrainingConfig(device="cuda:1"), tmp_path)
    with pytest.raises(InputError, match="--gradient-accumulation-steps"):
        fit(None, None, ROWS, plan, TrainingConfig(gradient_accumulation_steps=0, device="cpu"), tmp_path)


class NanLoss(GradedSupConLoss):
    def compute_loss_from_embeddings(self, embeddings, labels):
        return embeddings[0].sum() * math.nan


def test_a_non_finite_loss_stops_training(tmp_path):
    from mrs.models import load_sentence_transformer

    model = load_sentence_transformer(None, device="cpu")  # its weights end up NaN: not the shared fixture
    with pytest.raises(FloatingPointError, match="loss became nan at step 1"):
        fit(model, NanLoss(model), ROWS, plan, TrainingConfig(max_steps=1, device="cpu", max_seq_length=16),
            tmp_path)


def test_gradient_accumulation_counts_optimizer_steps(tmp_path):
    from mrs.models import load_sentence_transformer

    model = load_sentence_transformer(None, device="cpu")
    config = TrainingConfig(epochs=2, gradient_accumulation_steps=2, device="cpu", max_seq_length=16)
    result = fit(model, GradedSupConLoss(model), ROWS, plan, config, tmp_path)
    # two batches per epoch = one optimizer step per epoch; every row of both epochs trained on
    assert result.steps == 2 == result.planned and result.pairs == 2 * len(ROWS)
    assert result.args["rows_per_step"] == 128 and result.args["gradient_accumulation_steps"] == 2


def test_dev_evaluator_reports_and_prefixes_the_dev_metrics(minilm):
    texts = {"p1": "Red cotton shirt", "p2": "Shirt hanger", "p3": "USB-C cable 2m", "p4": "Desk lamp"}
    dev = JudgmentSet(ESCI, [Judgment("q1", "red shirt", "p1", 3), Judgment("q1", "red shirt", "p2", 0),
                             Judgment("q2", "usb cable", "p3", 3), Judgment("q2", "usb cable", "p4", 0)])
    evaluator = DevEvaluator(texts, dev)
    metrics = evaluator.metrics(minilm)
    assert metrics["queries"] == 2 and metrics["ndcg@10"] == pytest.approx(1.0)
    logged = evaluator(minilm)
    assert logged["dev_ndcg@10"] == pytest.approx(1.0) and "dev_queries" not in logged
    assert evaluator.primary_metric == "dev_ndcg@10"
    assert DevEvaluator(texts, JudgmentSet(ESCI, [])).metrics(minilm) is None


def test_eval_steps_log_the_dev_metrics_during_training(tmp_path):
    from mrs.models import load_sentence_transformer

    texts = {"p1": "Red cotton shirt", "p2": "Shirt hanger", "p3": "USB-C cable 2m", "p4": "Desk lamp"}
    dev = JudgmentSet(ESCI, [Judgment("q9", "cotton shirt", "p1", 3), Judgment("q9", "cotton shirt", "p2", 0)])
    model = load_sentence_transformer(None, device="cpu")
    config = TrainingConfig(max_steps=2, eval_steps=1, device="cpu", max_seq_length=16)
    result = fit(model, GradedSupConLoss(model), ROWS, plan, config, tmp_path, evaluator=DevEvaluator(texts, dev))
    assert [e["step"] for e in result.evaluations] == [1, 2]
    assert all(0.0 <= e["ndcg@10"] <= 1.0 for e in result.evaluations)

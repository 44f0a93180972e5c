"""The model card of a trained model describes that model, and a --max-steps the epochs end before is said
(issue 16, item 10)."""

from __future__ import annotations

from mrs.toolkit.model_card import render_model_card
from mrs.toolkit.training import FitResult, training_summary

REPORT = {
    "stage": 2,
    "config": {"template": "{title}", "dev_fraction": 0.2, "seed": 0, "supcon_weight": 1.0, "circle_weight": 0.5,
               "temperature": 0.05, "level_weights": {"irrelevant": 0.0, "exact": 1.0}, "margins": [0.2, 0.3],
               "gamma": 32.0, "boundary_weights": None, "min_confidence": 0.6, "batch_size": 64, "per_query": 8,
               "lr": 1e-05, "warmup_ratio": 0.1},
    "start_model": {"name": "demo/s1"},
    "scheme": "three-level",
    "embedding_dim": 384,
    "data": {"train_queries": 24, "dev_queries": 6, "mined_rows": 120, "merge": {"added": 100}},
    "training": {"steps": 55, "epochs": 1, "pairs_seen": 3520, "seconds": 81.5, "first_loss": 2.5,
                 "last_loss": 1.25, "notice": "--max-steps 200 was not reached: 1 epoch(s) ended after 55 steps"},
    "dev": {"base": {"ndcg@10": 0.5, "queries": 6}, "stage1": {"ndcg@10": 0.6, "queries": 6},
            "stage2": {"ndcg@10": 0.625, "queries": 6}},
}


def test_card_states_base_stage_data_losses_metrics_and_command():
    card = render_model_card(REPORT, "mrs train stage2 --model demo/s1 --max-steps 200")
    assert card.startswith("---\nlibrary_name: sentence-transformers\nbase_model: demo/s1\n")
    assert "# mrs Stage-2 model" in card and "multi-class circle loss" in card
    assert "| train queries | 24 |" in card and "| mined rows | 120 |" in card
    assert "0.5 × multi-class circle loss: margins [0.2, 0.3]" in card and "gamma 32.0" in card
    assert "| ndcg@10 | 0.5000 | 0.6000 | 0.6250 |" in card
    assert "mrs train stage2 --model demo/s1 --max-steps 200" in card
    assert "note: --max-steps 200 was not reached" in card


def test_max_steps_beyond_the_epochs_is_noticed():
    ended_early = training_summary(FitResult(step_losses=[1.0] * 55, epochs=1), planned=55, max_steps=200)
    assert ended_early["stopped_by"] == "epochs"
    assert ended_early["notice"] == ("--max-steps 200 was not reached: 1 epoch(s) ended after 55 steps (raise "
                                     "--epochs to train longer)")
    capped = training_summary(FitResult(step_losses=[1.0] * 200, epochs=4), planned=200, max_steps=200)
    assert capped["stopped_by"] == "max_steps" and capped["notice"] is None
    assert training_summary(FitResult(step_losses=[1.0] * 9, epochs=1), planned=9)["notice"] is None

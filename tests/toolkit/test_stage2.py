"""A tiny Stage-2 run on the generated sample data: mining feeds training, outputs match Stage 1's, the dev
split is protected, and the combined loss adds its parts."""

from __future__ import annotations

import json

import pytest
import torch

from mrs.data.judgments import Judgment, JudgmentSet
from mrs.data.readers import read_catalog, read_judgments
from mrs.data.splits import train_dev_split as training_queries
from mrs.data.text import ProductTextTemplate
from mrs.errors import InputError
from mrs.toolkit.dev_eval import encode
from mrs.toolkit.losses.circle import MultiClassCircleLoss
from mrs.toolkit.losses.supcon import GradedSupConLoss
from mrs.toolkit.mining import MiningConfig, mine
from mrs.toolkit.stage2 import Stage2Config, Stage2Loss, parse_floats, train_stage2


def test_combined_loss_is_the_weighted_sum_of_its_parts():
    q = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0]] * 3 + [[0.0, 1.0]] * 2), dim=-1)
    p = torch.nn.functional.normalize(torch.tensor([[0.9, 0.1], [0.5, 0.5], [0.1, 0.9], [0.2, 0.8], [0.9, 0.2]]), dim=-1)
    labels = torch.tensor([[0, 2], [0, 1], [0, 0], [1, 2], [1, 0]])
    supcon = GradedSupConLoss(None, temperature=0.1, level_weights=[0.0, 0.2, 1.0])
    circle = MultiClassCircleLoss(None, 3, margins=[0.25, 0.25], gamma=16)
    combined = Stage2Loss(None, supcon, circle, supcon_weight=1.0, circle_weight=0.5)
    s = supcon.compute_loss_from_embeddings([q, p], labels).item()
    c = circle.compute_loss_from_embeddings([q, p], labels).item()
    assert combined.compute_loss_from_embeddings([q, p], labels).item() == pytest.approx(s + 0.5 * c, rel=1e-6)
    assert combined.parts == {"supcon": [pytest.approx(s)], "circle": [pytest.approx(c)]}


def test_parse_floats():
    assert parse_floats("0.2, 0.3,0.4", "--margins", 3) == [0.2, 0.3, 0.4]
    assert parse_floats("0.3", "--margins", 3) == [0.3, 0.3, 0.3]
    assert parse_floats(None, "--margins", 3) is None
    with pytest.raises(InputError, match="expected 3 values"):
        parse_floats("0.2,0.3", "--margins", 3)


class ConstantJudge:
    """Labels every mined pair 'substitute' with confidence 0.8 (ESCI, as the sample judgments)."""

    def __init__(self, scheme):
        self.scheme = scheme

    def label(self, pairs):
        from mrs.toolkit.judge import JudgeLabel

        return [JudgeLabel(2, 0.8) for _ in pairs]


def test_tiny_stage2_run_on_sample_data(sample, minilm, tmp_path):
    products = list(read_catalog(sample.catalog))
    judgments = read_judgments(sample.judgments)
    texts = {p.id: ProductTextTemplate().render(p) for p in products}
    mined = mine(lambda t: encode(minilm, t), texts, judgments, MiningConfig(k=20, band=None, per_query=3),
                 judge=ConstantJudge(judgments.scheme)).judgments
    assert len(mined) > 0 and {j.source for j in mined} == {"mined"}

    config = Stage2Config(model="", max_steps=2, batch_size=16, per_query=6, circle_weight=0.5, gamma=16,
                          evaluate_start=True)
    report = train_stage2(config, products, judgments, mined, tmp_path / "stage2")
    out = tmp_path / "stage2"
    assert (out / "loss_curve.png").stat().st_size > 0
    saved = json.loads((out / "training.json").read_text())
    assert saved["stage"] == 2 and saved["training"]["steps"] == 2
    assert len(saved["training"]["circle_per_step"]) == 2 and len(saved["training"]["supcon_per_step"]) == 2
    # Every mined row was merged (none duplicates a judged pair; confidence 0.8 ≥ 0).
    assert saved["data"]["merge"]["added"] == len(mined)
    assert saved["data"]["training_rows_by_source"]["mined"] == len(mined)
    for side in ("stage1", "stage2"):
        m = saved["dev"][side]
        assert {"ndcg@10", "auc_exact_vs_substitute", "auc_substitute_vs_complement",
                "auc_complement_vs_irrelevant"} <= set(m)
        assert 0.0 <= m["ndcg@10"] <= 1.0
    assert report["model_dir"] == str(out)
    # The saved model loads and differs from the start (it trained).
    from mrs.models import load_sentence_transformer

    trained = load_sentence_transformer(out, device="cpu")
    a = trained.encode(["red shirt"], convert_to_tensor=True)
    b = minilm.encode(["red shirt"], convert_to_tensor=True)
    assert not torch.allclose(a, b)


def test_mined_dev_queries_are_refused(sample, tmp_path):
    products = list(read_catalog(sample.catalog))
    judgments = read_judgments(sample.judgments)
    _, dev = training_queries(judgments, 0.2, seed=0)
    leak = JudgmentSet(judgments.scheme, [Judgment(dev[0], "x", products[0].id, 0, source="mined")])
    with pytest.raises(InputError, match="dev queries"):
        train_stage2(Stage2Config(max_steps=1), products, judgments, leak, tmp_path / "m")


def test_dev_labels_changed_by_an_audit_are_refused(sample, tmp_path):
    """Stage 2's dev table must compare models on the original labels: an audit that re-judged a dev query's
    pair (audited with another split) is refused before training."""
    products = list(read_catalog(sample.catalog))
    judgments = read_judgments(sample.judgments)
    _, dev = training_queries(judgments, 0.2, seed=0)
    rows = [Judgment(j.query_id, j.query, j.product_id, j.grade, source="audited") if j.query_id == dev[0] else j
            for j in judgments]
    with pytest.raises(InputError, match=r"judgments of dev queries were re-judged by an audit"):
        train_stage2(Stage2Config(max_steps=1), products, JudgmentSet(judgments.scheme, rows), None, tmp_path / "m")


def test_stage1_split_must_match(tmp_path, sample):
    import shutil

    from mrs.models import packaged_model_dir

    model_dir = tmp_path / "s1"
    shutil.copytree(packaged_model_dir(), model_dir)
    (model_dir / "training.json").write_text(json.dumps({"config": {"dev_fraction": 0.2, "seed": 7}}))
    with pytest.raises(InputError, match="seed 7"):
        train_stage2(Stage2Config(model=str(model_dir), seed=0), list(read_catalog(sample.catalog)),
                     read_judgments(sample.judgments), None, tmp_path / "out")


def test_stage2_cli_rejects_a_wrong_margin_count(sample, tmp_path):
    from click.testing import CliRunner

    from mrs.cli.main import cli

    result = CliRunner().invoke(cli, ["train", "stage2", "--model", "default", "--judgments", str(sample.judgments),
                                      "--catalog", str(sample.catalog), "--out", str(tmp_path / "m"),
                                      "--margins", "0.2,0.3"])
    assert result.exit_code == 2
    assert "--margins: expected 3 values" in result.output and "Traceback" not in result.output


class _AngleModel:
    """encode(texts): unit vectors (cos θ, sin θ) with θ looked up per text — cosines known by hand."""

    def __init__(self, angles):
        self.angles = angles

    def encode(self, texts, **_):
        import numpy as np

        return np.array([[np.cos(self.angles[t]), np.sin(self.angles[t])] for t in texts], dtype=np.float32)


def test_circle_level_targets_spread_list_and_estimated():
    import math

    from mrs.data.judgments import Judgment, JudgmentSet
    from mrs.data.levels import ESCI
    from mrs.errors import InputError
    from mrs.toolkit.stage2 import circle_level_targets

    assert circle_level_targets("spread", None, None, {}, 3) == pytest.approx([0.0, 0.5, 1.0])
    assert circle_level_targets("0.1,0.4,0.6,0.8", None, None, {}, 4) == pytest.approx([0.1, 0.4, 0.6, 0.8])
    with pytest.raises(InputError, match="strictly increasing"):
        circle_level_targets("0.1,0.6,0.4,0.8", None, None, {}, 4)
    # query "q" at angle 0; products at angles whose cosines are 0.9 (exact), 0.7 / 0.5 (substitute),
    # 0.3 (complement), 0.1 (irrelevant): medians 0.1, 0.3, 0.6, 0.9
    cos = {"e": 0.9, "s1": 0.7, "s2": 0.5, "c": 0.3, "i": 0.1}
    grades = {"e": 3, "s1": 2, "s2": 2, "c": 1, "i": 0}
    angles = {"q": 0.0} | {f"text {p}": math.acos(c) for p, c in cos.items()}
    js = JudgmentSet(ESCI, [Judgment("q1", "q", p, g) for p, g in grades.items()])
    texts = {p: f"text {p}" for p in cos}
    got = circle_level_targets("estimated", _AngleModel(angles), js, texts, 4)
    assert got == pytest.approx([0.1, 0.3, 0.6, 0.9], abs=1e-5)

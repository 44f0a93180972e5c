"""Stage 1 end to end on the generated sample data: a few steps lower the loss and write a loadable model."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from mrs.cli.main import cli
from mrs.data.judgments import JudgmentSet
from mrs.data.readers import read_catalog, read_judgments
from mrs.data.splits import split_queries
from mrs.data.text import ProductTextTemplate
from mrs.toolkit.batching import TrainingExample, batch_labels
from mrs.toolkit.losses.supcon import GradedSupConLoss
from mrs.toolkit.stage1 import Stage1Config, build_model, parse_level_weights, train_stage1

pytestmark = pytest.mark.slow


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def trained(sample, tmp_path_factory):
    """One tiny CLI training run shared by the tests below (3 steps of 8 rows, every feature on)."""
    root = tmp_path_factory.mktemp("stage1")
    judgments = root / "judgments.tsv"
    # One judgment of a product that is not in the catalog: counted and skipped, not fatal.
    judgments.write_text(sample.judgments.read_text(encoding="utf-8")
                         + "white desk lamp\tNOT-IN-CATALOG\t100.000\tE\t3\n", encoding="utf-8")
    out = root / "model"
    result = run("train", "stage1", "--catalog", sample.catalog, "--judgments", judgments, "--out", out,
                 "--max-steps", 3, "--batch-size", 8, "--per-query", 4, "--lr", 1e-4, "--spelling-rate", 1,
                 "--synthetic-per-product", 1, "--dev-fraction", 0.25, "--seed", 1, "--json")
    assert result.exit_code == 0, result.output
    return out, json.loads(result.stdout), judgments


def _small_training_set(sample):
    """Four queries with six judged products each (three best, three worst), and their training rows."""
    js = read_judgments(sample.judgments)
    by_query = js.by_query()
    keep = []
    for qid in list(by_query)[:4]:
        judged = sorted(by_query[qid], key=lambda j: -j.grade)
        keep += judged[:3] + judged[-3:]
    small = JudgmentSet(js.scheme, keep)
    template = ProductTextTemplate()
    products = {p.id: p for p in read_catalog(sample.catalog)}
    rows = [TrainingExample(j.query_id, j.query_id, j.query, j.product_id, template.render(products[j.product_id]),
                            j.grade) for j in keep]
    return small, rows


def _loss_on(model, rows: list[TrainingExample]) -> float:
    loss = GradedSupConLoss(model, temperature=0.05)
    with torch.no_grad():
        q = model.encode([r.query for r in rows], convert_to_tensor=True)
        p = model.encode([r.product_text for r in rows], convert_to_tensor=True)
        return float(loss.compute_loss_from_embeddings([q, p], torch.tensor(batch_labels(rows))))


def test_training_writes_a_loadable_model_and_report(trained, minilm):
    from sentence_transformers import SentenceTransformer

    out, report, _ = trained
    model = SentenceTransformer(str(out), device="cpu")
    emb = model.encode(["red cotton shirt"])
    assert emb.shape == (1, 384)
    assert (out / "loss_curve.png").stat().st_size > 1000
    on_disk = json.loads((out / "training.json").read_text())
    assert len(on_disk["training"]["loss_per_step"]) == 3 == on_disk["training"]["steps"]
    data = report["data"]
    assert data["judgments_missing_product"] == 1
    assert data["augmented_queries"] == data["train_queries"]  # rate 1: one misspelled copy per train query
    assert data["synthetic_queries"] > 0 and data["dev_queries"] > 0
    assert data["training_rows"] == data["train_judgments"] + data["augmented_judgments"] + data["synthetic_queries"]
    for side in ("base", "stage1"):
        m = report["dev"][side]
        assert 0 <= m["ndcg@10"] <= 1 and 0.5 <= m["auc_exact_vs_irrelevant"] <= 1
        assert "auc_exact_vs_substitute" in m and "recall@100" in m
    assert report["config"]["level_weights"] == {"irrelevant": 0.0, "complement": 0.0, "substitute": 0.2,
                                                 "exact": 1.0}


def test_trained_model_has_its_own_card(trained):
    from mrs.models import packaged_model_dir

    out, report, _ = trained
    card = (out / "README.md").read_text(encoding="utf-8")
    assert card != (packaged_model_dir() / "README.md").read_text(encoding="utf-8")
    assert "# mrs Stage-1 model" in card and "base_model: all-MiniLM-L6-v2" in card
    assert f"| train queries | {report['data']['train_queries']} |" in card
    assert "graded SupCon: temperature 0.05" in card and "| ndcg@10 |" in card
    assert "mrs train stage1 --catalog" in card and "--max-steps 3" in card


def test_max_steps_the_epoch_ends_before_is_said(sample, tmp_path):
    """Two queries, 8 rows a batch: one epoch is a few steps, far fewer than --max-steps 200."""
    rows = sample.judgments.read_text(encoding="utf-8").splitlines()
    queries = list(dict.fromkeys(r.split("\t")[0] for r in rows[1:]))[:2]
    small = tmp_path / "j.tsv"
    small.write_text("\n".join([rows[0], *[r for r in rows[1:] if r.split("\t")[0] in queries]]) + "\n")
    result = CliRunner().invoke(cli, [str(a) for a in (
        "train", "stage1", "--catalog", sample.catalog, "--judgments", small, "--out", tmp_path / "m",
        "--max-steps", 200, "--batch-size", 8, "--per-query", 4, "--spelling-rate", 0, "--synthetic-per-product", 0,
        "--dev-fraction", 0, "--json")])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    steps = report["training"]["steps"]
    assert 0 < steps < 200 and report["training"]["stopped_by"] == "epochs"
    assert f"--max-steps 200 was not reached: 1 epoch(s) ended after {steps} steps" in result.stderr
    on_disk = json.loads((tmp_path / "m" / "training.json").read_text())
    assert on_disk["training"]["notice"] == report["training"]["notice"]


def test_training_lowers_the_loss_on_training_queries(sample, minilm, tmp_path):
    from sentence_transformers import SentenceTransformer

    small, rows = _small_training_set(sample)
    cfg = Stage1Config(epochs=4, batch_size=12, per_query=6, lr=1e-4, dev_fraction=0, spelling_rate=0,
                       synthetic_per_product=0, evaluate_base=False, seed=0)
    report = train_stage1(cfg, read_catalog(sample.catalog), small, tmp_path / "m")
    assert report["training"]["steps"] == 8  # 24 rows / 12 per batch × 4 epochs
    assert report["dev"]["stage1"] is None  # no dev split asked for
    before = _loss_on(minilm, rows)
    after = _loss_on(SentenceTransformer(str(tmp_path / "m"), device="cpu"), rows)
    assert after < before


def test_dev_queries_are_never_trained_on(sample):
    js = read_judgments(sample.judgments)
    sides = split_queries(js.queries(), {"train": 0.75, "dev": 0.25}, seed=1)
    catalog = list(read_catalog(sample.catalog))
    seen: list[str] = []

    class Spy:
        def generate(self, product, n, rng):
            return [f"spy query {product.id}"]

    import mrs.toolkit.stage1 as stage1

    original = stage1.build_batches

    def spy(examples, **kw):
        seen.extend(e.origin_id for e in examples)
        return original(examples, **kw)

    stage1.build_batches = spy
    try:
        cfg = Stage1Config(max_steps=1, batch_size=8, dev_fraction=0.25, seed=1, evaluate_base=False,
                           spelling_rate=1.0)
        with pytest.raises(ValueError):  # stop after planning: no time spent on training here
            train_stage1(cfg, catalog, js, "/nonexistent/never-written", generator=Spy(),
                         progress=_stop_at_training)
    finally:
        stage1.build_batches = original
    assert seen and not set(seen) & set(sides["dev"])
    assert set(sides["train"]) <= set(seen)


def _stop_at_training(stage, done, total):
    if stage == "prepare" and done == 3:
        raise ValueError("stop")


def test_projection_head_changes_the_dimension(minilm):
    model = build_model(Stage1Config(dim=32), ["red shirt", "blue jeans", "usb cable", "desk lamp"], "cpu")
    emb = model.encode(["red shirt", "usb cable"])
    assert emb.shape == (2, 32)
    assert abs(float((emb[0] ** 2).sum()) - 1.0) < 1e-4  # still unit length (Normalize after the Dense head)


def test_dev_corpus_keeps_every_judged_dev_product():
    from mrs.data.judgments import Judgment
    from mrs.toolkit.stage1 import _dev_corpus

    texts = {f"p{i}": f"product {i}" for i in range(50)}
    dev = JudgmentSet(judgments=[Judgment("q", "q", "p3", 3), Judgment("q", "q", "p40", 0)])
    assert _dev_corpus(texts, dev, 0, seed=0) is texts  # 0: the whole catalog
    small = _dev_corpus(texts, dev, 5, seed=0)
    assert len(small) == 7 and {"p3", "p40"} <= set(small)  # the 2 judged + 5 others
    assert _dev_corpus(texts, dev, 5, seed=0) == small  # seeded


def test_parse_level_weights():
    from mrs.data.levels import ESCI
    from mrs.errors import InputError

    assert parse_level_weights("exact=1,substitute=0.5,c=0.1", ESCI) == [0.0, 0.1, 0.5, 1.0]
    with pytest.raises(InputError, match="unknown level"):
        parse_level_weights("perfect=1", ESCI)
    with pytest.raises(InputError, match="at least one"):
        parse_level_weights("exact=0,substitute=0", ESCI)


def test_bad_inputs_exit_2(sample, tmp_path):
    not_a_model = tmp_path / "empty"
    not_a_model.mkdir()
    r = run("train", "stage1", "--catalog", sample.catalog, "--judgments", sample.judgments, "--out",
            tmp_path / "m", "--base", not_a_model)
    assert r.exit_code == 2 and "not a sentence-transformers model directory" in r.output
    no_top = tmp_path / "no_exact.tsv"
    lines = sample.judgments.read_text().splitlines()
    no_top.write_text("\n".join([lines[0]] + [ln for ln in lines[1:] if not ln.endswith("\t3")]) + "\n")
    r = run("train", "stage1", "--catalog", sample.catalog, "--judgments", no_top, "--out", tmp_path / "m")
    assert r.exit_code == 2 and "no query has a product at the top level" in r.output
    r = run("train", "stage1", "--catalog", sample.catalog, "--judgments", sample.judgments, "--out",
            tmp_path / "m", "--level-weights", "exact=abc")
    assert r.exit_code == 2 and "not a number" in r.output
    assert not (tmp_path / "m").exists()


def test_a_catalog_that_yields_no_synthetic_queries_is_warned_about():
    from mrs.toolkit.stage1 import _synthetic_warnings

    (warning,) = _synthetic_warnings(2, 0, 40)
    assert "no synthetic queries were generated from the 40 products" in warning
    assert "--synthetic-per-product 0" in warning
    assert _synthetic_warnings(2, 5, 40) == [] and _synthetic_warnings(0, 0, 40) == []

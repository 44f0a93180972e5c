"""Cross-encoder judge: class weights, evaluation arithmetic, training on a few steps, save/load, annotation."""

from __future__ import annotations

import pytest
import torch

from mrs.data.judgments import Judgment, JudgmentSet
from mrs.data.levels import ESCI, THREE_LEVEL
from mrs.data.splits import split_judgments
from mrs.errors import InputError
from mrs.toolkit.judge import (
    CrossEncoderJudge,
    JudgeExample,
    JudgeLabel,
    annotate,
    class_weights_for,
    evaluate_judge,
    judge_examples,
    majority_baseline,
    train_judge,
)


class FixedJudge:
    """A judge that answers from a table (query, text) → grade, for arithmetic tests."""

    scheme = ESCI

    def __init__(self, table):
        self.table = table

    def label(self, pairs):
        return [JudgeLabel(self.table[p], 0.8) for p in pairs]


def test_class_weights_inverse_sqrt_frequency():
    ex = [JudgeExample("q", "t", 2)] * 9 + [JudgeExample("q", "t", 0)] * 1
    w = class_weights_for(ex, 3, power=0.5)
    # counts 1, 0, 9; mean over present = 5 → raw (1/5)^-0.5 = 2.236068, 0, (9/5)^-0.5 = 0.745356
    # normalised to mean 1 over the 2 present levels: sum 2.981424 / 2 = 1.490712 → 1.5, 0, 0.5
    assert w == pytest.approx([1.5, 0.0, 0.5])
    assert class_weights_for(ex, 3, power=0.0) == pytest.approx([1.0, 0.0, 1.0])


def test_evaluate_accuracy_and_within_one():
    ex = [JudgeExample("a", "1", 3), JudgeExample("a", "2", 2), JudgeExample("b", "3", 0), JudgeExample("b", "4", 1)]
    judge = FixedJudge({("a", "1"): 3, ("a", "2"): 3, ("b", "3"): 2, ("b", "4"): 1})
    m = evaluate_judge(judge, ex)
    # exact: rows 1 and 4 → 2/4; within one: rows 1, 2, 4 (|3-2| = 1) but not row 3 (|2-0| = 2) → 3/4
    assert (m["accuracy"], m["within_one"]) == (0.5, 0.75)
    assert m["confusion"][2][3] == 1 and m["confusion"][0][2] == 1
    base = majority_baseline([JudgeExample("x", "y", 3)] * 3, ex)
    # always 3: exact on row 1 (1/4); within one on rows 1, 2 (2/4); balanced: 1 / 4 levels present
    assert base == {"grade": 3, "accuracy": 0.25, "balanced_accuracy": 0.25, "within_one": 0.5}
    # balanced accuracy: recall per level exact 1/1, substitute 0/1, irrelevant 0/1, complement 1/1 → 0.5
    assert m["balanced_accuracy"] == 0.5


def test_split_is_by_query_and_examples_report_missing_products():
    jset = JudgmentSet(ESCI, [Judgment(f"q{i}", f"query {i}", f"p{k}", k % 4) for i in range(40) for k in range(3)])
    train, dev = split_judgments(jset, 0.2, seed=0)
    assert set(train.queries()).isdisjoint(dev.queries())
    assert len(train) + len(dev) == len(jset) and len(dev) > 0
    ex, missing = judge_examples(jset.subset(["q0"]), {"p0": "text 0", "p1": "text 1"})
    assert [e.product_text for e in ex] == ["text 0", "text 1"] and [m.product_id for m in missing] == ["p2"]


def test_judge_trains_saves_loads_and_annotates(tmp_path):
    torch.manual_seed(0)
    judge = CrossEncoderJudge.create(THREE_LEVEL)
    assert judge.model.num_labels == 3
    examples = [
        JudgeExample("red cotton shirt", "Red cotton shirt for men", 2),
        JudgeExample("red cotton shirt", "Garden hose 20 m", 0),
        JudgeExample("usb cable", "USB-C charging cable 2 m", 2),
        JudgeExample("usb cable", "Wooden dining table", 0),
        JudgeExample("usb cable", "USB wall charger", 1),
    ]
    fit = train_judge(judge, examples, epochs=40, max_steps=40, batch_size=5, lr=1e-4, class_weight_power=0.0)
    assert fit.rows == 200 and len(fit.step_losses) == 40
    # It learns the training pairs: the last losses are far below the first (ln 3 = 1.0986 at random).
    assert sum(fit.step_losses[-5:]) / 5 < 0.5 * fit.step_losses[0]
    metrics = evaluate_judge(judge, examples)
    assert metrics["accuracy"] >= 0.8

    out = judge.save(tmp_path / "judge", extra={"dev": metrics})
    loaded = CrossEncoderJudge.load(out)
    assert loaded.scheme.name == "three-level" and loaded.info["dev"]["pairs"] == 5
    pairs = [(e.query, e.product_text) for e in examples]
    assert torch.allclose(loaded.probabilities(pairs), judge.probabilities(pairs), atol=1e-5)

    labeled = annotate(loaded, [("q1", "usb cable", "P9", "USB-C charging cable 2 m")])
    (j,) = list(labeled)
    assert (j.query_id, j.product_id, j.source) == ("q1", "P9", "judge")
    assert j.grade == 2 and 1 / 3 < j.confidence <= 1.0


def test_head_has_its_own_learning_rate():
    # The classifier starts random while the encoder is pretrained: head_lr moves only the head when the
    # encoder's lr is 0 (and weight decay scales with lr, so the frozen part stays bit-identical).
    torch.manual_seed(0)
    judge = CrossEncoderJudge.create(THREE_LEVEL)
    before = {n: p.detach().clone() for n, p in judge.model.named_parameters()}
    examples = [JudgeExample("usb cable", "USB-C charging cable 2 m", 2), JudgeExample("usb cable", "Garden hose", 0)]
    train_judge(judge, examples, epochs=1, batch_size=2, lr=0.0, head_lr=1e-2, warmup_ratio=0.0)
    changed = {n for n, p in judge.model.named_parameters() if not torch.equal(p, before[n])}
    assert changed and all(".classifier." in f".{n}" for n in changed)


def test_loading_a_non_judge_directory_is_bad_input(tmp_path):
    with pytest.raises(InputError, match="not a judge directory"):
        CrossEncoderJudge.load(tmp_path)


# --- LLM judge over an OpenAI-compatible endpoint, with a fake transport --------------------------------

def _llm(transport, **kw):
    from mrs.toolkit.llm_judge import LLMJudge

    return LLMJudge("http://llm.local/v1", "tiny", ESCI, api_key="sk-test", transport=transport,
                    sleep=lambda s: None, **kw)


def _reply(content):
    return 200, {"choices": [{"message": {"role": "assistant", "content": content}}]}


def test_llm_judge_request_and_parsing():
    seen = []

    def transport(url, headers, body, timeout):
        seen.append((url, headers, body))
        return _reply('{"level": "Substitute", "confidence": 0.7}')

    (lab,) = _llm(transport).label([("red shirt", "Pink cotton shirt")])
    assert lab == JudgeLabel(2, 0.7)
    url, headers, body = seen[0]
    assert url == "http://llm.local/v1/chat/completions"
    assert headers["Authorization"] == "Bearer sk-test"
    assert body["response_format"] == {"type": "json_object"} and body["temperature"] == 0
    system, user = body["messages"]
    # The guideline names every level, top first; the pair is in the user message.
    assert system["content"].index("- exact:") < system["content"].index("- irrelevant:")
    assert user["content"] == "Query: red shirt\nProduct: Pink cotton shirt"


def test_llm_judge_retries_server_errors_and_bad_json_then_succeeds():
    answers = iter([(503, None), _reply("not json"), _reply('{"level": "E"}')])
    waits = []
    judge = _llm(lambda *a: next(answers))
    judge.sleep = waits.append
    assert judge.label_one("q", "p") == JudgeLabel(3, 1.0)
    assert waits == [1.0, 2.0]  # exponential back-off


def test_llm_judge_gives_up_with_a_clear_error_and_key_comes_from_env(monkeypatch):
    from mrs.toolkit.llm_judge import LLMJudge, LLMJudgeError

    judge = _llm(lambda *a: _reply('{"level": "great"}'), retries=1)
    with pytest.raises(LLMJudgeError, match="after 2 tries.*unknown level 'great'"):
        judge.label_one("q", "p")
    unauthorized = _llm(lambda *a: (401, None))
    with pytest.raises(LLMJudgeError, match="after 1 tries \\(HTTP 401\\)"):
        unauthorized.label_one("q", "p")
    monkeypatch.setenv("MRS_LLM_API_KEY", "sk-env")
    env_judge = LLMJudge("http://llm.local/v1/chat/completions", "m", ESCI)
    assert env_judge.endpoint == "http://llm.local/v1/chat/completions"
    assert env_judge._headers()["Authorization"] == "Bearer sk-env"
    assert "sk-env" not in repr(env_judge)


# --- `mrs judge train` / `mrs judge annotate` on the sample data (a few steps) ----------------------------

def test_judge_cli_train_then_annotate(sample, tmp_path):
    import json

    from click.testing import CliRunner

    from mrs.cli.main import cli
    from mrs.data.readers import read_judgments

    runner = CliRunner()
    judge_dir = tmp_path / "judge"
    trained = runner.invoke(cli, ["judge", "train", "--judgments", str(sample.judgments), "--catalog",
                                  str(sample.catalog), "--out", str(judge_dir), "--kind", "cross-encoder",
                                  "--max-steps", "2", "--batch-size", "8", "--json"])
    assert trained.exit_code == 0, trained.output
    report = json.loads(trained.stdout)
    assert report["training"]["steps"] == 2 and report["dev_queries"] > 0
    assert 0.0 <= report["dev"]["accuracy"] <= report["dev"]["within_one"] <= 1.0
    assert report["dev"]["pairs"] == report["dev_pairs"] > 0

    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("query\tproduct_id\nred frying pan\tP00002\nred frying pan\tNOPE\n")
    out = tmp_path / "judged.tsv"
    failed = runner.invoke(cli, ["judge", "annotate", "--pairs", str(pairs), "--catalog", str(sample.catalog),
                                 "--judge", str(judge_dir), "--out", str(out)])
    assert failed.exit_code == 2 and "pairs.tsv:3" in failed.output and "NOPE" in failed.output
    skipped = runner.invoke(cli, ["judge", "annotate", "--pairs", str(pairs), "--catalog", str(sample.catalog),
                                  "--judge", str(judge_dir), "--out", str(out), "--on-error", "skip", "--json"])
    assert skipped.exit_code == 0, skipped.output
    summary = json.loads(skipped.stdout)
    assert summary["labeled"] == 1 and summary["rejects"]["count"] == 1
    (j,) = list(read_judgments(out))
    assert (j.query, j.product_id, j.source) == ("red frying pan", "P00002", "judge") and 0 < j.confidence <= 1


def test_judge_annotate_needs_exactly_one_judge(tmp_path):
    from click.testing import CliRunner

    from mrs.cli.main import cli

    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("query\tproduct_id\nq\tp\n")
    result = CliRunner().invoke(cli, ["judge", "annotate", "--pairs", str(pairs), "--out", str(tmp_path / "o.tsv")])
    assert result.exit_code == 2 and "exactly one of --judge DIR or --llm-url URL" in result.output

"""Stage-1 parity run: the same bounded Stage-1 configuration through whichever mrs is first on PYTHONPATH.

    # the trainer path (this worktree)
    PYTHONPATH=src HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/trainer_parity.py --data ../shared/data \
        --out /tmp/parity/new --max-steps 40 --max-seq-length 32
    # the code of another checkout (e.g. the hand-written loop of an older commit)
    PYTHONPATH=/path/to/old/src HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/trainer_parity.py --data ../shared/data \
        --out /tmp/parity/old --max-steps 40 --max-seq-length 32

Trains Stage 1 from the packaged base model on the ESCI subset (seed, split, steps and data fixed by the
arguments) and prints one JSON line: dev nDCG@10, recall@100, AUC exact>substitute and exact>irrelevant of the
trained model (dense retrieval over the whole catalog), the steps taken, the training loop's seconds and
steps/s, and the mrs source it ran. The data stays where it is; the model goes to --out.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import mrs  # noqa: E402
from mrs.data.readers import read_catalog, read_judgments  # noqa: E402
from mrs.toolkit.stage1 import Stage1Config, train_stage1  # noqa: E402

METRICS = ("ndcg@10", "recall@100", "auc_exact_vs_substitute", "auc_exact_vs_irrelevant")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="the shared data folder (holds esci/)")
    ap.add_argument("--out", required=True, help="model directory to write (outside the repo)")
    ap.add_argument("--max-steps", type=int, default=40)
    ap.add_argument("--max-seq-length", type=int, default=32)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--synthetic-per-product", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads (the same for every compared run)")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    esci = Path(args.data) / "esci"
    catalog = list(read_catalog(esci / "esci_us_products.jsonl"))
    judgments = read_judgments(esci / "esci_us_qrels.tsv")
    config = Stage1Config(max_steps=args.max_steps, max_seq_length=args.max_seq_length, batch_size=args.batch_size,
                          lr=args.lr, synthetic_per_product=args.synthetic_per_product, seed=args.seed,
                          evaluate_base=False, device="cpu")
    started = time.perf_counter()
    report = train_stage1(config, catalog, judgments, args.out)
    dev = report["dev"]["stage1"] or {}
    training = report["training"]
    steps_per_second = training["steps"] / training["seconds"] if training["seconds"] else None
    print(json.dumps({
        "mrs_source": str(Path(mrs.__file__).parent),
        **{metric: dev.get(metric) for metric in METRICS},
        "steps": training["steps"],
        "first_loss": training["first_loss"],
        "last_loss": training["last_loss"],
        "train_seconds": training["seconds"],
        "steps_per_second": round(steps_per_second, 4) if steps_per_second else None,
        "wall_seconds": round(time.perf_counter() - started, 1),
        "threads": args.threads,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())

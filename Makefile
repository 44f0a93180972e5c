# mrs — the two commands: `make setup` then `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup test test-lucene lint bench clean

setup:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	# torch first, pinned: the CPU build lies on disk; a bare torch requirement would pull GBs of CUDA.
	$(BIN)/python -m pip install torch==2.13.0
	$(BIN)/python -m pip install -e '.[dev]'
	$(BIN)/python -m pip check

test:
	@# pytest exit 5 (no tests collected) must fail, never pass silently
	$(BIN)/python -m pytest -q; rc=$$?; if [ $$rc -eq 5 ]; then echo 'no tests ran' >&2; exit 1; fi; exit $$rc

# The Lucene conformance suite alone (needs MRS_LUCENE_JAR or ~/.cache/mrs/lucene; .ci/run fetches the jar)
test-lucene:
	$(BIN)/python -m pytest -q -m lucene tests/lucene

lint:
	$(BIN)/ruff check src tests benchmarks

bench:
	$(BIN)/python benchmarks/run.py --data ../shared/data

clean:
	rm -rf $(VENV) build dist *.egg-info

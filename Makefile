# Two commands for a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS :=

.PHONY: install demo test lint typecheck bench eval clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	# torch first: the CPU build that lies on this disk (any other spec pulls a CUDA build)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m demos.showcase

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: typecheck
	$(BIN)/ruff check guardrails tests demos benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/overhead.py

eval: $(STAMP)
	for f in advbench jailbreakbench simplesafetytests xstest; do $(BIN)/guardrails eval ../shared/eval/$$f.jsonl --task policy; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# storydesk: `make demo` sets up and writes the briefing of the bundled sample corpus;
# `make test` sets up and runs the tests. Both work on a fresh machine with Python 3.10+.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
DB := out/sample.db

.PHONY: demo test bench clean

$(BIN)/activate:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Runtime + test pins only: no torch (models run on ONNX Runtime); training: requirements-train.txt.
$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml | $(BIN)/activate
	$(BIN)/pip install -q -r requirements-dev.txt -e .
	touch $@

demo: $(VENV)/.installed
	rm -f $(DB) $(DB)-wal $(DB)-shm
	$(BIN)/storydesk ingest examples/corpus --db $(DB) -q
	$(BIN)/storydesk analyze --db $(DB)
	$(BIN)/storydesk brief --db $(DB) --format html -o out/briefing.html
	$(BIN)/storydesk brief --db $(DB) --format md -o out/briefing.md
	$(BIN)/storydesk brief --db $(DB) --format json -o out/briefing.json
	$(BIN)/storydesk brief --db $(DB) --format html --each out/stories
	@echo "open out/briefing.html (all stories; one per story in out/stories/; also .md and .json)"

test: $(VENV)/.installed
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q

bench: $(VENV)/.installed
	for b in benchmarks/*.py; do HF_HUB_OFFLINE=1 $(BIN)/python $$b || exit 1; done

clean:
	rm -rf out .pytest_cache .hypothesis

# The two front-door commands (see README): `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: install demo test bench clean

$(BIN)/graders: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]' --config-settings editable_mode=compat
	@touch $(BIN)/graders

install: $(BIN)/graders

demo: install
	@mkdir -p demo
	$(BIN)/graders score datasets/qa_grader.json datasets/qa.jsonl -o demo/qa_scores.jsonl \
		--threshold 0.9 --report demo/qa_report.html --summary-json demo/qa_summary.json

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis

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
	$(BIN)/graders validate datasets/qa_grader.json > /dev/null && echo "datasets/qa_grader.json is valid"
	$(BIN)/graders run datasets/qa_grader.json --model-sample "Paris" --item '{"reference_answer": "Paris"}'

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis

# The two front-door commands (see README): `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: install wordnet demo test bench clean

$(BIN)/graders: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]' --config-settings editable_mode=compat
	@touch $(BIN)/graders

# WordNet 3.0 for METEOR (SEMANTICS §5) from Debian's packages: never downloaded at run time.
# Idempotent and quiet: nothing to do when metrics.wordnet finds it (system or NLTK data dir);
# it also builds the index cache so the first METEOR score is fast.
WORDNET_PKGS = wordnet-base wordnet-sense-index
wordnet: $(BIN)/graders
	@if ! $(BIN)/python -m metrics.wordnet >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing WordNet 3.0: apt-get install $(WORDNET_PKGS)"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    { apt-get install -y -qq --no-install-recommends $(WORDNET_PKGS) >/dev/null 2>&1 || \
	      { apt-get update -qq >/dev/null 2>&1 && \
	        apt-get install -y -qq --no-install-recommends $(WORDNET_PKGS) >/dev/null; }; } && \
	    $(BIN)/python -m metrics.wordnet >/dev/null; \
	  else \
	    echo "warning: METEOR needs WordNet 3.0; as root run: apt-get install -y $(WORDNET_PKGS)" >&2; \
	  fi; \
	fi

install: $(BIN)/graders wordnet

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

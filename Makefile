# Two set-up commands: `make run` and `make test`. Each creates .venv on first use.
# keystone-engine has wheels for few platforms; tools/keystone_wheel.py builds it elsewhere.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-all bench fuzz clean
N      ?= 100000

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python tools/keystone_wheel.py
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/emu demo

test: $(STAMP)
	$(BIN)/python -m pytest

test-all: $(STAMP)
	EMU_ALL_TRACES=1 $(BIN)/python -m pytest

fuzz: $(STAMP)
	EMU_FUZZ_TOTAL=$(N) $(BIN)/python -m pytest tests/fuzz -q -p no:cacheprovider

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache

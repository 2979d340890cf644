# The two commands of the README:
#   make book   builds the website into _build/html (executing every chapter)
#   make test   builds it too, then runs every test (unit, notebooks, browser)
# Both set up a fresh machine first (scripts/setup.sh): .venv, MathJax, chromium.
VENV ?= .venv
BIN := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)
export OMP_NUM_THREADS ?= 1
JOBS ?= 2

.PHONY: setup book test benchmark clean

setup:
	bash scripts/setup.sh

book: setup
	$(BIN)/jupyter-book build . --builder html -W -n --keep-going

test: setup
	bash scripts/setup.sh --browser
	$(MAKE) book
	$(BIN)/python -m pytest -n $(JOBS) -p no:cacheprovider tests --nbmake book

benchmark: setup
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf _build

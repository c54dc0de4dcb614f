# Two commands do all the set-up on a fresh machine: `make lab` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: install lab test unit notebooks notebooks-full clean

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

lab: install
	$(BIN)/jupyter lab --notebook-dir=notebooks

test: install unit notebooks

unit: install
	$(BIN)/python -m pytest tests

# Every notebook, top to bottom, in quick mode; checked cells (# NBVAL_CHECK_OUTPUT) must match.
notebooks: install
	GAN_LESSONS_QUICK=1 MPLBACKEND=Agg $(BIN)/python -m pytest -p no:cacheprovider --nbval-lax --nbval-current-env notebooks/

# Re-execute every notebook in full mode and store its outputs (what we commit).
notebooks-full: install
	for nb in notebooks/[0-9]*.ipynb; do \
	  GAN_LESSONS_QUICK=0 $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.timeout=1800 $$nb || exit 1; done

clean:
	rm -rf checkpoints notebooks/checkpoints

# Two commands do all the set-up on a fresh machine: `make lab` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: install lab test unit notebooks notebooks-full install-backends test-backends test-backends-ci ci gpu-check clean

install: $(STAMP)

# The Pythons the course runs on: Keras 3.15 needs 3.11 or newer, and TensorFlow 2.21 has wheels up to 3.13
# (tested: 3.11, 3.12, 3.13). Checked before anything is installed, since pip's own error names a package, not why.
PYTHON_RANGE = import sys; v = sys.version_info[:2]; sys.exit(None if (3, 11) <= v <= (3, 13) else \
  f"error: {sys.executable} is Python {v[0]}.{v[1]}; the course needs Python 3.11, 3.12 or 3.13 (Keras 3.15 asks for " \
  f"3.11 or newer, TensorFlow 2.21 has no wheels beyond 3.13). Install one of them and give it to make, e.g. " \
  f"make $(or $(MAKECMDGOALS),install) PYTHON=python3.12" + (" (delete $(VENV) first: it was made with this Python)" \
  if sys.prefix != sys.base_prefix else ""))

$(STAMP): requirements.txt pyproject.toml
	@py="$(PYTHON)"; test -x $(BIN)/python && py=$(BIN)/python; "$$py" -c '$(PYTHON_RANGE)'
	test -x $(BIN)/python || "$(PYTHON)" -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

# As root (a container, a lab VM) Jupyter refuses to start without --allow-root: add it only then.
# Jupyter prints the URL to open (with its token) when it is ready.
# JupyterLab keeps a notebook's kernel running when its tab is closed, and each kernel of this course holds about
# 1 GB: a student going through the seven lessons ended with 6.8 GB in use (docs/results.md, session 41). In this
# .venv closing a notebook shuts its kernel down; an overrides.json already there, or the student's own setting
# (Settings → Notebook → "Shut down kernel"), wins.
LAB_OVERRIDES = $(VENV)/share/jupyter/lab/settings/overrides.json
lab: install
	@test -f $(LAB_OVERRIDES) || { mkdir -p $(dir $(LAB_OVERRIDES)) && \
	  echo '{"@jupyterlab/notebook-extension:tracker": {"kernelShutdown": true}}' > $(LAB_OVERRIDES); }
	$(BIN)/python -m jupyter lab --notebook-dir=notebooks $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

test: install unit notebooks

unit: install
	$(BIN)/python -m pytest tests

# Every notebook, top to bottom, in quick mode; checked cells (# NBVAL_CHECK_OUTPUT) must match.
NBVAL = -p no:cacheprovider --nbval-lax --nbval-current-env --nbval-sanitize-with notebooks/nbval_sanitize.cfg
notebooks: install
	GAN_LESSONS_QUICK=1 MPLBACKEND=Agg $(BIN)/python -m pytest $(NBVAL) notebooks/

# Re-execute every notebook in full mode and store its outputs (what we commit).
# Their outputs are then cleaned of TensorFlow's log lines and absolute paths (gan_lessons.notebook_outputs).
notebooks-full: install
	for nb in notebooks/[0-9]*.ipynb; do \
	  GAN_LESSONS_QUICK=0 $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.timeout=1800 $$nb || exit 1; \
	  $(BIN)/python -m gan_lessons.notebook_outputs clean $$nb || exit 1; done

# Optional backends (JAX, PyTorch; CPU) and the tests that prove each: the unit tests and every notebook in
# quick mode under KERAS_BACKEND=jax and KERAS_BACKEND=torch (lessons 01, 04 and 05 only until session 39).
BACKEND_STAMP = $(VENV)/.backends
BACKEND_NOTEBOOKS = notebooks/

install-backends: $(BACKEND_STAMP)

$(BACKEND_STAMP): $(STAMP) requirements-backends.txt
	$(BIN)/python -m pip install --quiet -r requirements-backends.txt
	touch $(BACKEND_STAMP)

# Each backend keeps its quick-mode runs in its own folder (checkpoints/<backend>): it trains on that backend
# instead of loading what another backend left, and two backends can run side by side (`make ci`).
test-backends: install-backends
	for backend in jax torch; do \
	  KERAS_BACKEND=$$backend $(BIN)/python -m pytest -q tests || exit 1; \
	  KERAS_BACKEND=$$backend GAN_LESSONS_CHECKPOINTS=$(CURDIR)/checkpoints/$$backend GAN_LESSONS_QUICK=1 MPLBACKEND=Agg \
	    $(BIN)/python -m pytest -q $(NBVAL) $(BACKEND_NOTEBOOKS) || exit 1; \
	done

# What CI runs of it (issue 18 allows a subset while the whole CI must stay under 30 minutes): on each of JAX
# and torch, the Keras canary (D moves in its own step, not in G's), the driver (exact resume, NaN stop, both
# networks learn), every step function's "each call moves only its own networks" test (cGAN, DCGAN, the 2-D
# methods, InfoGAN, Pix2Pix and its L1 step, CycleGAN, the three WGANs), the spectrally normalised D, and the
# exact resume of DCGAN (hinge, spectral norm, decay, EMA), of the self-conditioned DCGAN, of InfoGAN and of
# CycleGAN (image pools); then lesson 01 in quick mode. Left to the TensorFlow job, which runs them for every backend in
# subprocesses whatever KERAS_BACKEND is: the data-parallel test (always JAX) and the gradient penalty's closed
# form (each backend).
BACKEND_CI_TESTS = tests/test_keras_canary.py tests/test_training.py
BACKEND_CI_STEP_TESTS = tests/test_cgan.py tests/test_dcgan.py tests/test_infogan.py tests/test_mode_collapse.py \
  tests/test_pix2pix.py tests/test_cyclegan.py tests/test_wgan.py
BACKEND_CI_STEPS = moves or (resume and not plain_decay) or l1_step or spectrally

test-backends-ci: test-backends-ci-jax test-backends-ci-torch

# torch's OpenMP threads spin while they wait for a core: beside the JAX job on CI's two cores, notebook 01 took
# 7 min 40 s on torch against 2 min alone (session 20). One thread leaves the other core to the job beside it.
test-backends-ci-torch: export OMP_NUM_THREADS = 1

test-backends-ci-%: install-backends
	KERAS_BACKEND=$* $(BIN)/python -m pytest -q $(BACKEND_CI_TESTS)
	KERAS_BACKEND=$* $(BIN)/python -m pytest -q $(BACKEND_CI_STEP_TESTS) -k "$(BACKEND_CI_STEPS)"
	KERAS_BACKEND=$* GAN_LESSONS_CHECKPOINTS=$(CURDIR)/checkpoints/$* GAN_LESSONS_QUICK=1 MPLBACKEND=Agg \
	  $(BIN)/python -m pytest -q $(NBVAL) notebooks/01_gan_mlp.ipynb

# What .ci/run runs: `make test` and the backend subset, two jobs at a time on CI's two cores (most of a
# test's time is single-threaded tracing, so two jobs finish far sooner than one after the other). Each
# job's output is printed whole when it ends. The longest job (the unit tests) starts first.
ci: install install-backends
	$(MAKE) -j2 --output-sync=target unit notebooks test-backends-ci-jax test-backends-ci-torch

# Every lesson in full mode on this machine's GPU, timed, as a Markdown table (see docs/gpu_check.py). The route
# checked on a GPU (session 30): pip install "jax[cuda13]" in .venv, then KERAS_BACKEND=jax make gpu-check.
gpu-check: install
	$(BIN)/python docs/gpu_check.py

clean:
	rm -rf checkpoints notebooks/checkpoints

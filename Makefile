# hpo-arena: everything needs only python3 (3.11+) and make.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test bench chapter claims lint clean

# Create the virtual environment and install the project (re-run when pyproject changes).
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --config-settings editable_mode=compat -e '.[test]'
	touch $(STAMP)

# The newcomer's first look: a small study that fills every table, then its report
# (results/demo/_report/report.md).
run: $(STAMP)
	$(PY) -m benchmarks.run +experiment=demo
	$(PY) -m analysis.report results/demo

# The default test suite (fast; slow and benchmark tests excluded or run once unmeasured).
test: $(STAMP)
	$(PY) -m pytest -q

# Performance targets: pytest-benchmark ratios against the raw libraries, saved under .benchmarks/.
bench: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider --benchmark-enable --benchmark-autosave \
		--benchmark-storage=.benchmarks tests/bench

# The chapter study (resumes where it stopped), then its report.
chapter: $(STAMP)
	$(PY) -m benchmarks.run +experiment=chapter
	$(PY) -m analysis.report results/chapter

# The chapter's claims tested on 30 seeds (resumes; a complete study only rebuilds the report,
# whose section "Claims of the chapter, tested" gives each claim's verdict).
claims: $(STAMP)
	$(PY) -m benchmarks.run +experiment=claims
	$(PY) -m analysis.report results/claims

lint: $(STAMP)
	$(PY) -m ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# Two commands a fresh machine needs: `make demo` and `make test`. Both install first.
PY := .venv/bin/python
export HF_HUB_OFFLINE ?= 1
export HF_DATASETS_OFFLINE ?= 1

.PHONY: setup test demo clean

# torch==2.13.0 (in requirements.txt) is the CPU wheel here and the CUDA build on a GPU box
.venv/.installed: requirements.txt requirements-dev.txt
	python3 -m venv .venv
	.venv/bin/pip install -q --upgrade pip
	.venv/bin/pip install -q -r requirements-dev.txt
	touch $@

setup: .venv/.installed

test: setup
	$(PY) -m pytest -q tests

# the whole pipeline built so far, on the generated multilingual corpus, on CPU
demo: setup
	$(PY) prepare.py config/demo.py
	@echo "demo outputs: out/corpus/embedded (text splits), out/tokens/embedded (token shards)"

clean:
	rm -rf out

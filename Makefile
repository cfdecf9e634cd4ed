# Two commands a fresh machine needs: `make demo` and `make test`. Both install first.
PY := .venv/bin/python
export HF_HUB_OFFLINE ?= 1
export HF_DATASETS_OFFLINE ?= 1

.PHONY: setup test test-numeric demo clean

# torch==2.13.0 (in requirements.txt) is the CPU wheel here and the CUDA build on a GPU box
.venv/.installed: requirements.txt requirements-dev.txt
	python3 -m venv .venv
	.venv/bin/pip install -q --upgrade pip
	.venv/bin/pip install -q -r requirements-dev.txt
	touch $@

setup: .venv/.installed

test: setup
	$(PY) -m pytest -q tests

# The numeric tests (pytest -m numeric: fp32 against float64 within c*eps*sqrt(n), tests/helpers.py)
# under each BLAS and CPU kernel path this machine can take, with 1 and 2 threads: one line a
# cell, red if any cell is red, so a tolerance tuned to one CPU fails here, not on the next CI box.
# MKL_CBWR picks MKL's code path (AVX512 where the CPU has it), ATEN_CPU_CAPABILITY torch's
# own kernels; "-" sets neither. Idle OpenMP threads sleep (PASSIVE): on a busy 2-core box
# spinning ones crawl (measured here: over 3x the CPU time of a 2-thread cell).
NUMERIC_FILES := tests/test_model.py tests/test_chunked_scoring.py tests/test_eval_bpb.py
AVX512 := $(if $(shell grep -m1 -ow avx512f /proc/cpuinfo 2>/dev/null),MKL_CBWR=AVX512)
NUMERIC_PATHS := - MKL_CBWR=COMPATIBLE MKL_CBWR=AVX2 $(AVX512) \
	ATEN_CPU_CAPABILITY=default ATEN_CPU_CAPABILITY=avx2
NUMERIC_PYTEST := $(PY) -m pytest -q -p no:cacheprovider -m numeric $(NUMERIC_FILES)
test-numeric: setup
	@log=$$(mktemp); trap 'rm -f $$log' EXIT; passed=0; failed=0; start=$$(date +%s); \
	for path in $(NUMERIC_PATHS); do for threads in 1 2; do \
	  cell="$$path OMP_NUM_THREADS=$$threads"; \
	  if env -u MKL_CBWR -u ATEN_CPU_CAPABILITY $${path#-} OMP_WAIT_POLICY=PASSIVE \
	      OMP_NUM_THREADS=$$threads UNISCALE_TEST_THREADS=$$threads \
	      $(NUMERIC_PYTEST) >$$log 2>&1; then \
	    passed=$$((passed + 1)); echo "pass  $$cell: $$(tail -n1 $$log)"; \
	  else \
	    failed=$$((failed + 1)); echo "FAIL  $$cell:"; grep -E '^(FAILED|E )' $$log | head -n 20; \
	    tail -n1 $$log; \
	  fi; \
	done; done; \
	echo "numeric matrix: $$(( $$(date +%s) - start )) s, one count a cell"; \
	echo "numeric: $$passed passed, $$failed failed"; \
	[ $$failed -eq 0 ]

# both studies end to end on the generated multilingual corpus, on CPU; each step skips work already done
DEMO_TOKENIZERS := out/tokenizers/bpe-2k,out/tokenizers/parity-2k,out/tokenizers/bpe-4k,out/tokenizers/unigram-2k,out/tokenizers/unigram-4k,out/tokenizers/btm-1k-2k,out/tokenizers/superbpe-t1.6k-2k
demo: setup
	$(PY) prepare.py config/demo.py
	$(PY) tokenizer.py config/tokenizers_demo.py
	$(PY) tokenizer.py config/tokenizers_demo.py --algorithms="['parity']" --vocab_sizes=[2000]
	(for t in unigram-4k parity-2k; do test -n "$$(find out/tokenizer_eval/$$t -path '*/embedded_val_*/metrics.json' -newer out/tokenizers/parity-2k/meta.json 2>/dev/null)" || exit 1; done) || $(PY) tokenizer.py eval config/tokenizers_demo.py --eval_tokenizers="['out/tokenizers/parity-2k','cl100k_base']"
	$(PY) btm.py config/btm_demo.py
	$(PY) btm.py config/superbpe_demo.py
	test out/analysis/btm-1k-2k/btm_vocab.json -nt out/tokenizers/btm-1k-2k/meta.json || $(PY) btm.py analyze config/btm_demo.py
	$(PY) prepare.py config/demo.py --tokenizers=$(DEMO_TOKENIZERS)
	$(PY) -m data.embedded.generate --out=out/eval_sets/stories_seed2.jsonl --n_bytes=60000 --seed=2
	$(PY) sweep.py config/sweep_demo.py
	test out/sweep/demo_scale_preflight.json -nt out/tokens/embedded/unigram-4k/train.json || $(PY) sweep.py config/sweep_demo.py --preflight=True --preflight_warmup=1 --preflight_steps=1
	$(PY) sweep.py config/sweep_ab_demo.py
	test out/analysis/demo_ab/samples.md -nt out/runs/gpt2-tiny_superbpe-t1.6k-2k_s1/ckpt.pt || $(PY) sample.py --runs=out/runs/gpt2-tiny_bpe-2k_s1,out/runs/gpt2-tiny_btm-1k-2k_s1,out/runs/gpt2-tiny_superbpe-t1.6k-2k_s1 --out=out/analysis/demo_ab/samples.md
	@echo
	@echo "demo outputs:"
	@echo "  out/corpus/embedded/            text splits (generated stories, 8 languages)"
	@echo "  out/tokenizers/                 bpe-2k bpe-3k bpe-4k unigram-2k unigram-3k unigram-4k parity-2k btm-1k-2k superbpe-t1.6k-2k"
	@echo "  out/tokenizer_eval/             intrinsic metrics, plots, LaTeX tables"
	@echo "  out/tokens/embedded/            token shards"
	@echo "  out/runs/                       training runs: config.json, log.jsonl, ckpt.pt, eval.json"
	@echo "  out/analysis/demo_scale/        study 1: report.md (with the lr scan), summary.json/csv, plots"
	@echo "  out/analysis/demo_ab/           study 2: report.md, plots, samples.md"
	@grep -m1 'Verdict' out/analysis/demo_scale/report.md || true

clean:
	rm -rf out

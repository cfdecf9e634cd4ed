#!/bin/bash
# The GPU check of issue 22 (bench/gpu_check.py, ~8 minutes on one H200) as the device machine runs it.
#   bash bench/gpu_check.sh --prepare      # HERE, first: .gpu_deps/ (pure-Python packages the device may lack) and
#                                          # the device call's arguments (command, carry) with the size that travels
#   bash bench/gpu_check.sh                # THERE: the check; log.txt and gpu_check.json in $OUT
#   bash bench/gpu_check.sh --parts=b,e    # THERE: some parts again (options go to gpu_check.py)
set -u
cd "$(dirname "$0")/.." || exit 1
DEPS="filelock accelerate"  # from .venv's site-packages; on the device only those its python3 lacks are used
BUDGET_S=450                # gpu_check.py's budget_s; `timeout` ends it all 30 s later
TRAINER_INPUTS="out/tokenizers/bpe-4k out/tokens/embedded/bpe-4k"  # part f's (bench/train_speed.py), if here
LIMIT_BYTES=$((64 * 2**20)) # what one device call may carry: the working tree and the carried paths

prepare() {
  local site p size tree total list carry
  site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') || exit 1
  rm -rf .gpu_deps && mkdir .gpu_deps || exit 1
  for p in $DEPS; do
    cp -r "$site/$p" "$site/$p"-*.dist-info .gpu_deps/ || { echo "gpu_check.sh: $p is not in $site"; exit 1; }
  done
  find .gpu_deps -name __pycache__ -prune -exec rm -rf {} +
  if find .gpu_deps -name '*.so' | grep -q .; then
    echo "gpu_check.sh: .gpu_deps holds compiled files (not pure Python): carry wheels for python 3.12 instead"
    exit 1
  fi
  echo "gpu_check.sh: .gpu_deps: $DEPS, $(du -sh .gpu_deps | cut -f1)"
  carry=()
  if git check-ignore -q .gpu_deps; then
    carry+=(.gpu_deps)
  else  # untracked and not ignored: it travels with the working tree, but `git status` shows it
    echo "gpu_check.sh: note: .gpu_deps/ is not ignored (add it to .gitignore); it travels without carry"
  fi
  if ! ls $TRAINER_INPUTS >/dev/null 2>&1; then  # seconds on a CPU: the demo's corpus, bpe-4k and its shards
    echo "gpu_check.sh: making part f's inputs ($TRAINER_INPUTS), as make demo would"
    { .venv/bin/python prepare.py config/demo.py && .venv/bin/python tokenizer.py config/tokenizers_demo.py \
        --algorithms=bpe --vocab_sizes=4000 && .venv/bin/python prepare.py config/demo.py \
        --tokenizers=out/tokenizers/bpe-4k; } > /tmp/gpu_check_prepare.log 2>&1 \
      || echo "gpu_check.sh: that failed (/tmp/gpu_check_prepare.log): part f will be skipped"
  fi
  for p in $TRAINER_INPUTS; do
    if [ -e "$p" ]; then carry+=("$p"); fi
  done
  tree=$(git ls-files -z -co --exclude-standard | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
  size=$( ((${#carry[@]})) && du -cb "${carry[@]}" | tail -1 | cut -f1 || echo 0)
  total=$((tree + size))
  echo "gpu_check.sh: travels $((total / 2**20)) MiB of $((LIMIT_BYTES / 2**20)) (working tree $((tree / 2**20))," \
       "carried $((size / 2**20)))"
  if ((total > LIMIT_BYTES)); then echo "gpu_check.sh: too large for one device call"; exit 1; fi
  list=""
  for p in "${carry[@]}"; do list+="${list:+, }\"$p\""; done
  echo "the run tool's arguments:"
  echo "  {\"command\": \"bash bench/gpu_check.sh\", \"carry\": [$list], \"timeout_s\": $((BUDGET_S + 60))}"
  echo "then read gpu_check.json under files_at. Parts again, in a second call at once (the machine stays warm 30 s):"
  echo "  bash bench/gpu_check.sh --parts=f --budget_s=200     (or the parts that failed or ran out of time)"
}

if [ "${1:-}" = --prepare ]; then prepare; exit; fi

export OUT=${OUT:-out/gpu_check}
mkdir -p "$OUT" || exit 1
if [ -d .gpu_deps ]; then  # only the packages this python3 lacks: its own versions win
  deps=$(mktemp -d)
  lacks=$(python3 -c 'import importlib.util as u, sys; print(*[p for p in sys.argv[1:] if not u.find_spec(p)])' $DEPS)
  for p in $lacks; do
    ln -s "$PWD/.gpu_deps/$p" "$PWD/.gpu_deps/$p"-*.dist-info "$deps/" && echo "gpu_check.sh: $p from .gpu_deps"
  done
  export PYTHONPATH="$deps${PYTHONPATH:+:$PYTHONPATH}"
fi
set -o pipefail
timeout -k 10 $((BUDGET_S + 30)) python3 -u bench/gpu_check.py --device=cuda --budget_s=$BUDGET_S "$@" 2>&1 \
  | tee "$OUT/log.txt"
rc=$?
echo "gpu_check.sh: exit $rc after ${SECONDS} s" | tee -a "$OUT/log.txt"
exit $rc

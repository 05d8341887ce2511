#!/usr/bin/env bash
# The GPU check, as one call on a lent device machine (bare and offline: Python 3.12 with torch, Lightning,
# timm, OpenCV, pandas, but no Hydra, smp, albumentations or segyio):
#   1. installs the wheels that bench/gpu_wheels.sh put in .whl/ (when those packages are missing),
#   2. trains `experiment=seed trainer=gpu` on fold 0 of the real data for a fixed wall clock,
#   3. predicts test/images with infer.py (the run's weight-averaged network, hflip TTA),
#   4. prints images/s, epochs, val/map per epoch, peak GPU memory, the out-of-fold scores and inference
#      tiles/s, and appends them with the card's name to bench/RESULTS.md (and to $OUT/gpu_check.md when set).
#
#   bash bench/gpu_check.sh [--minutes M] [--data DIR] [--work DIR] [--cpu-dry-run] [-- train.py overrides]
#
# --data defaults to .gpu/tgs (made by bench/gpu_data.sh to travel with the tree), else ../shared/tgs.
# --cpu-dry-run runs the same steps on the CPU with a tiny network for 3 epochs (a step budget, so what it
# reports does not depend on the machine's speed) and records nothing in RESULTS.md: review the script without
# a GPU. Prepare a device call with: bash bench/gpu_wheels.sh &&
# bash bench/gpu_data.sh; then run this with `.whl` and `.gpu` carried.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=5 dry_run=0 data="" work=${TMPDIR:-/tmp}/gpu_check
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --cpu-dry-run) dry_run=1; shift ;;
    --) shift; break ;;
    *) echo "error: unknown option $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
export NO_ALBUMENTATIONS_UPDATE=1 HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
if ! $PY -c "import hydra, segmentation_models_pytorch, albumentations, segyio" 2>/dev/null; then
  ls .whl/*.whl >/dev/null 2>&1 || { echo "error: packages missing and no wheels in .whl/: run bench/gpu_wheels.sh" >&2; exit 1; }
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
if [ -z "$data" ]; then data=.gpu/tgs; [ -d "$data" ] || data=../shared/tgs; fi
[ -f "$data/train.csv" ] || { echo "error: no train.csv in $data: pass --data DIR (Kaggle layout)" >&2; exit 1; }
data=$(cd "$data" && pwd)
rm -rf "$work" && mkdir -p "$work"
now() { $PY -c "import time; print(time.time())"; }
seconds() { $PY -c "print(f'{$2 - $1:.1f}')"; }
if [ "$dry_run" = 1 ]; then
  budget=00:00:05:00 budget_s=300
  setup=(trainer=cpu encoder.name=resnet18 model.stem=standard model.filters=8 batch_size=4 data.max_tiles=64
         ensemble.top_k=2 data.num_workers=0 trainer.max_epochs=3)
  results=$work/report.md
else
  budget=$(printf "00:00:%02d:00" "$minutes") budget_s=$((minutes * 60))
  setup=(trainer=gpu data.num_workers=8)
  results=bench/RESULTS.md
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 500 > "$work/memory.log" &
  sampler=$!
  trap 'kill $sampler 2>/dev/null || true' EXIT
fi
train=(experiment=seed "${setup[@]}" "data.root=$data" fold=0 "trainer.max_time=$budget" "hydra.run.dir=$work/run" "$@")
echo "$ python train.py ${train[*]}"
start=$(now)
$PY train.py "${train[@]}"
train_wall=$(seconds "$start" "$(now)")
echo "$ python infer.py ckpt=$work/run data.root=$data out=$work/submission.csv"
start=$(now)
$PY infer.py "ckpt=$work/run" "data.root=$data" "out=$work/submission.csv" "hydra.run.dir=$work/infer"
infer_wall=$(seconds "$start" "$(now)")
tiles=$(($(wc -l < "$work/submission.csv") - 1))
peak=()
if [ "$dry_run" = 0 ]; then
  kill "$sampler" 2>/dev/null || true
  peak=(--peak-mib "$(sort -n "$work/memory.log" | tail -1)")
fi
copy=()
[ -n "${OUT:-}" ] && copy=(--copy "$OUT/gpu_check.md")
$PY -m bench.gpu_report "$work/run" --budget-s "$budget_s" --train-wall "$train_wall" --infer-wall "$infer_wall" \
  --tiles "$tiles" "${peak[@]}" --results "$results" "${copy[@]}" \
  --command "bash bench/gpu_check.sh --minutes $minutes${*:+ -- $*}"
if [ -n "${OUT:-}" ]; then
  cp "$work/run/curves.png" "$work/run/validation.png" "$work/run/train.log" "$work/run/logs/metrics.csv" "$OUT/"
fi

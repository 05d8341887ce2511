#!/usr/bin/env bash
# The GPU check, as one call on a lent device machine (bare and offline: Python 3.12 with torch, Lightning,
# timm, OpenCV, pandas, but no Hydra, smp, albumentations or segyio):
#   1. installs the wheels that bench/gpu_wheels.sh put in .whl/ (when those packages are missing),
#   2. trains `experiment=seed trainer=gpu` (the published network and loss) on folds 0..F-1 of the real data,
#      M minutes of wall clock each,
#   3. with several folds, tunes the post-processing on their pooled out-of-fold predictions (tune.py),
#   4. predicts test/images with infer.py: the fold x snapshot (weight-averaged) x hflip TTA ensemble,
#   5. prints images/s, epochs, val/map per epoch, peak GPU memory, each fold's and the pooled out-of-fold scores
#      and inference tiles/s, and appends them with the card's name to bench/RESULTS.md (and to
#      $OUT/gpu_check.md when set).
#
#   bash bench/gpu_check.sh [--minutes M] [--folds F] [--data DIR] [--work DIR] [--cpu-dry-run] [-- overrides]
#
# Five folds of 2 minutes fit a 15-minute device lease with its start-up: --folds 5 --minutes 2.
#
# --data defaults to .gpu/tgs (made by bench/gpu_data.sh to travel with the tree), else ../shared/tgs.
# --cpu-dry-run runs the same steps on the CPU with a tiny network for 2 epochs a fold (a step budget, so what it
# reports does not depend on the machine's speed) and records nothing in RESULTS.md: review the script without
# a GPU. Prepare a device call with: bash bench/gpu_wheels.sh &&
# bash bench/gpu_data.sh; then run this with `.whl` and `.gpu` carried.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=5 folds=1 dry_run=0 data="" work=${TMPDIR:-/tmp}/gpu_check
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes=$2; shift 2 ;;
    --folds) folds=$2; shift 2 ;;
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
  setup=(trainer=cpu encoder.name=resnet18 model.filters=8 batch_size=4 data.max_tiles=64
         ensemble.top_k=2 data.num_workers=0 trainer.max_epochs=2)
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
runs=() train_wall=0
for fold in $(seq 0 $((folds - 1))); do
  split=()
  [ "$folds" -gt 1 ] && split=("data.n_folds=$folds")  # every fold of an F-fold split; one fold: fold 0 of 5
  train=(experiment=seed "${setup[@]}" "${split[@]}" "data.root=$data" "fold=$fold" "trainer.max_time=$budget"
         "hydra.run.dir=$work/runs/fold$fold" "$@")
  echo "$ python train.py ${train[*]}"
  start=$(now)
  $PY train.py "${train[@]}"
  train_wall=$($PY -c "print($train_wall + $(seconds "$start" "$(now)"))")
  runs+=("$work/runs/fold$fold")
done
ckpt=$work/runs
[ "$folds" = 1 ] && ckpt=$work/runs/fold0
postproc=()
if [ "$folds" -gt 1 ]; then
  echo "$ python tune.py run=$ckpt"
  $PY tune.py "run=$ckpt" "hydra.run.dir=$work/tune"
  postproc=(--postproc "$ckpt/postproc.yaml")
fi
echo "$ python infer.py ckpt=$ckpt data.root=$data out=$work/submission.csv"
start=$(now)
$PY infer.py "ckpt=$ckpt" "data.root=$data" "out=$work/submission.csv" "hydra.run.dir=$work/infer"
infer_wall=$(seconds "$start" "$(now)")
tiles=$(($(wc -l < "$work/submission.csv") - 1))
peak=()
if [ "$dry_run" = 0 ]; then
  kill "$sampler" 2>/dev/null || true
  peak=(--peak-mib "$(sort -n "$work/memory.log" | tail -1)")
fi
copy=()
[ -n "${OUT:-}" ] && copy=(--copy "$OUT/gpu_check.md")
$PY -m bench.gpu_report "${runs[@]}" --budget-s "$budget_s" --train-wall "$train_wall" --infer-wall "$infer_wall" \
  --tiles "$tiles" "${peak[@]}" "${postproc[@]}" --results "$results" "${copy[@]}" \
  --command "bash bench/gpu_check.sh --minutes $minutes --folds $folds${*:+ -- $*}"
if [ -n "${OUT:-}" ]; then
  first=$work/runs/fold0
  cp "$first/curves.png" "$first/validation.png" "$first/train.log" "$first/logs/metrics.csv" "$OUT/"
fi

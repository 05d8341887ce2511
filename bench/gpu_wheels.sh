#!/usr/bin/env bash
# The wheels bench/gpu_check.sh installs on the device machine: exactly the packages its image lacks (Hydra,
# segmentation-models-pytorch, albumentations, segyio and what they need that it lacks too), and timm at our pin
# (the image has a timm of its own version, and smp builds its encoders from timm), for its
# Python 3.12 on x86-64, into .whl/ (git-ignored). Direct dependencies at requirements.txt's pins; the others
# at the versions requirements.txt resolves to here.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
pin() { grep -i "^$1==" requirements.txt | cut -d= -f3; }
rm -rf .whl && mkdir -p .whl
$PY -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl \
  "hydra-core==$(pin hydra-core)" "omegaconf==$(pin omegaconf)" \
  "segmentation-models-pytorch==$(pin segmentation-models-pytorch)" "albumentations==$(pin albumentations)" \
  "segyio==$(pin segyio)" "timm==$(pin timm)" \
  albucore==0.0.24 stringzilla==5.3.2 simsimd==6.5.16 \
  pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5 typing-extensions==4.16.0
# omegaconf's grammar runtime is published as a source archive only: build its pure-Python wheel here
$PY -m pip wheel -q --no-deps --no-build-isolation -w .whl antlr4-python3-runtime==4.9.3
du -sh .whl

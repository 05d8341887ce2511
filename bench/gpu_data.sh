#!/usr/bin/env bash
# Copy the real data (../shared/tgs, which does not travel to the device machine) into .gpu/tgs (git-ignored),
# small enough to travel with the working tree (64 MiB): tiles stored as single-channel PNGs (same grey values),
# masks as 0/255 PNGs. bench/gpu_check.sh reads it from there.
#   bash bench/gpu_data.sh [SOURCE]   (default ../shared/tgs)
set -euo pipefail
cd "$(dirname "$0")/.."
source=${1:-../shared/tgs}
PY=${PYTHON:-python3}
NO_ALBUMENTATIONS_UPDATE=1 $PY - "$source" .gpu/tgs <<'PYEOF'
import shutil
import sys
from pathlib import Path

import cv2

from src.data import io
from src.utils.atomic import atomic_folder

source, target = Path(sys.argv[1]), Path(sys.argv[2])
with atomic_folder(target) as work:
    for name in ("train.csv", "depths.csv", "sample_submission.csv"):
        shutil.copy(source / name, work / name)
    for folder, read in (("train/images", io.read_grey), ("test/images", io.read_grey),
                         ("train/masks", lambda p: io.read_mask(p).astype("uint8") * 255)):
        (work / folder).mkdir(parents=True)
        for path in sorted((source / folder).glob("*.png")):
            cv2.imwrite(str(work / folder / path.name), read(path), [cv2.IMWRITE_PNG_COMPRESSION, 9])
print(f"{target}: {sum(f.stat().st_size for f in target.rglob('*') if f.is_file()) / 2**20:.1f} MiB")
PYEOF

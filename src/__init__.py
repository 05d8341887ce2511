"""saltseg: U-Nets for salt segmentation on seismic images."""

import os

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # albumentations would otherwise check PyPI on import

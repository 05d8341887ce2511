"""saltseg: U-Nets for salt segmentation on seismic images (TGS Salt Identification)."""

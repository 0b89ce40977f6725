"""Code instruction data: syntax-aware splits, augmentations, quality weights, dedup (see README.md)."""

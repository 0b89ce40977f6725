"""Pointer-aware augmentation of audio-edit data: log-mel front end, samples from recordings, transforms
that keep pointers valid, a Dataset, and the AugmentService servicer (see README.md here)."""

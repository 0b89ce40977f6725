"""Trainer service: data preparation, the training loop (nanoGPT's, plus early stopping) and its CLI."""

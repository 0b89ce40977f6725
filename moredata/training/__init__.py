"""Training: the loop (nanoGPT's, reading top to bottom), its config, objectives, early stopping, checkpoints
and metrics, the enhanced-data mixer and its auto rule, and the public `Trainer` API (`moredata.Trainer`)."""

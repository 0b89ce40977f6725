"""Data: tokenizers, prepared token files, corpus preparation (moredata-prepare) and the Python API's
splits and dataloaders."""

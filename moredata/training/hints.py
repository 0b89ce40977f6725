"""How a front end spells "resume", "overwrite" and "another output folder" in the loop's messages.

The loop serves three front ends with different spellings: the CLI (`--init_from=resume`), the Python
`Trainer` (`trainer.train(epochs, resume=True)`) and `moredata-pointer train` (`--resume`). A message
that names a flag its reader's command does not have sends them the wrong way, so each passes its own.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Hints:
    resume: str = "--init_from=resume"
    overwrite: str = "--overwrite=true"
    other_out: str = "another --out_dir"


CLI = Hints()
PYTHON_API = Hints(resume="trainer.train(epochs, resume=True)", overwrite="Trainer(..., overwrite=True)",
                   other_out="another checkpoint_dir")

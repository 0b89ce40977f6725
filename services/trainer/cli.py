"""moredata-train: the trainer's command line (see `moredata-train --help`)."""
from __future__ import annotations

import json
import sys

from moredata.atomic import atomic_write_text
from moredata.cli import exit_on_user_error, setup_logging
from moredata.training.config import help_text, load_settings


@exit_on_user_error
def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if any(a in ("-h", "--help") for a in argv):
        print(help_text())
        return
    cfg = load_settings(argv)
    # the process is ours (not a library's): show the generator client's and worker's INFO lines
    # (reconnects, model re-sends, fallbacks), and let the sample-stream thread hand over the GIL every
    # 1 ms instead of 5 ms so a batch's take() does not wait on it
    setup_logging()
    if cfg.generator and sys.getswitchinterval() > 0.001:
        sys.setswitchinterval(0.001)
    from moredata.training.loop import TrainingLoop  # torch import only once the flags are fine
    from moredata.training.summary import summary_dict

    trainer = TrainingLoop(cfg)
    summary = trainer.run()
    if trainer.master:
        atomic_write_text(f"{cfg.out_dir}/summary.json", json.dumps(summary_dict(summary), indent=2))
        print("\ntraining summary\n" + summary.table(), flush=True)


if __name__ == "__main__":
    main()

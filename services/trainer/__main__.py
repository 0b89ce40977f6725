from moredata.trainer.cli import main

main()

from services.trainer.cli import main

main()

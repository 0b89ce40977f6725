from services.augment.main import main

main()

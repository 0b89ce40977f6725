from moredata.augment.main import main

main()

from moredata.generator.main import main

main()

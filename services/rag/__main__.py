from moredata.rag.main import main

main()

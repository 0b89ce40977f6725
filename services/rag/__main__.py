from services.rag.main import main

main()

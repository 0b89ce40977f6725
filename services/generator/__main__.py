from services.generator.main import main

main()

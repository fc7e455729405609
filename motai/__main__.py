from motai.cli import main

main()

from citywitness.cli import main

main()

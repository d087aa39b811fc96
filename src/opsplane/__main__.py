from opsplane.cli import main

main()

from togglsync.cli import main

main()

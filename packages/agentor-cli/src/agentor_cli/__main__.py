from agentor_cli.app import main

main()

"""The command line: main.py parses and dispatches, args.py holds the parsers, one module per command."""

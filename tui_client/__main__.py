import sys

from tui_client.cli.main import main

sys.exit(main())

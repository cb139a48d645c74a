"""``python -m tui_client``: the same as the ``tui-client`` command."""

import sys

from tui_client.cli.main import main

sys.exit(main())

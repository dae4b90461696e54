"""``python -m sgldsim``: the ``sgldsim`` command."""

from .cli import main

raise SystemExit(main())

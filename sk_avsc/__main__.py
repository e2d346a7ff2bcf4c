"""``python -m sk_avsc``: the same as the ``sk-avsc`` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())

"""``python -m sk_avsc.openl3``: openl3's command line (see :mod:`sk_avsc.openl3._cli`).

As ``openl3/__main__.py``, importing this module runs the command line on ``sys.argv``.
"""

import sys

from ._cli import main

_status = main()
if _status:
    sys.exit(_status)

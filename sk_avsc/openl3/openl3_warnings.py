"""openl3's warning, under openl3's module name: :class:`OpenL3Warning`.

The warnings of :mod:`sk_avsc.openl3` about its input (all-zero audio or images, audio
shorter than one window, channels that look transposed) are ``OpenL3Warning``, as openl3
0.4.2's; it derives from :class:`~sk_avsc.exceptions.SkAvscWarning`, so filters on either
class apply.
"""

from ..exceptions import SkAvscWarning

__all__ = ["OpenL3Warning"]


class OpenL3Warning(SkAvscWarning):
    """The root OpenL3 warning class (openl3 0.4.2's), an sk_avsc warning."""

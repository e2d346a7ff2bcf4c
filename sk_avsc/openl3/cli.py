"""openl3's ``openl3.cli`` under its module name: a namespace, no logic of its own.

The command line lives in :mod:`sk_avsc.openl3._cli`; ``from sk_avsc.openl3.cli import
run, main, parse_args, get_file_list`` works as ``from openl3.cli import ...`` does.
"""

from ._cli import add_arguments, get_file_list, main, parse_args, positive_float, positive_int, run

__all__ = ["positive_float", "positive_int", "get_file_list", "add_arguments", "parse_args",
           "run", "main"]

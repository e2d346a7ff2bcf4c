"""Report numpydoc validation problems of every public name listed in docs/api.rst.

``python docs/validate_docstrings.py`` prints, for each function and class of the API
reference (and the public methods a class defines itself), the missing Examples section of
top-level names and the numpydoc errors of the checks below; ``--strict`` exits with status
1 when there is any. torch's ``forward``/``extra_repr`` and scikit-learn's generated
``set_*_request`` are skipped (documented by their classes and by scikit-learn).
"""

import argparse
import importlib
import inspect
import re
import sys
from pathlib import Path

from numpydoc.validate import validate

ROOT = Path(__file__).resolve().parent.parent
CHECKS = {"GL08", "SS01", "PR01", "PR02", "RT01"}
SKIP = re.compile(r"(set_\w+_request|forward|extra_repr)$")


def api_names():
    module, names = None, []
    for line in (ROOT / "docs" / "api.rst").read_text().splitlines():
        m = re.match(r"\.\. (?:currentmodule|module):: (\S+)", line)
        if m:
            module = m.group(1)
        elif line.startswith("   ") and line.strip() and not line.strip().startswith((":", "..")):
            names.append(f"{module}.{line.strip()}")
    return names


def targets(full):
    module, _, attr = full.rpartition(".")
    obj = getattr(importlib.import_module(module), attr)
    if not (inspect.isclass(obj) or inspect.isfunction(obj)):
        return  # constants
    yield full, True
    if inspect.isclass(obj):
        for name, member in vars(obj).items():
            if name.startswith("_") or SKIP.search(name):
                continue
            if inspect.isfunction(member) or isinstance(member, (property, classmethod)):
                yield f"{full}.{name}", False


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strict", action="store_true", help="exit 1 on any problem")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    problems = []
    for full in api_names():
        for name, top in targets(full):
            try:
                errors = validate(name)["errors"]
            except Exception as exc:  # numpydoc cannot parse some sources
                problems.append(f"{name}: numpydoc failed ({type(exc).__name__}: {exc})")
                continue
            for code, message in errors:
                if code in CHECKS or (top and code == "EX01"):
                    problems.append(f"{name}: {code} {message}")
    print("\n".join(problems) or "no problems")
    print(f"{len(problems)} problem(s)", file=sys.stderr)
    return 1 if problems and args.strict else 0


if __name__ == "__main__":
    raise SystemExit(main())

import importlib
import subprocess
import sys

import pytest

import sk_avsc
from sk_avsc import exceptions


def test_version_is_a_string():
    assert isinstance(sk_avsc.__version__, str)
    assert sk_avsc.__version__.count(".") >= 2


@pytest.mark.parametrize(
    "cls", [exceptions.ParameterError, exceptions.AudioError, exceptions.ImageError,
            exceptions.WeightsError, exceptions.MediaError]
)
def test_value_errors_are_value_errors(cls):
    assert issubclass(cls, ValueError)
    assert issubclass(cls, exceptions.SkAvscError)


def test_import_does_not_load_torch():
    # `import sk_avsc` must stay cheap: estimators and the OpenL3 port load torch lazily.
    code = "import sys, sk_avsc; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_unknown_attribute_raises():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        sk_avsc.nope  # noqa: B018


def test_every_lazy_name_resolves():
    # every module of _LAZY exists now: a missing one or a misspelt name is a bug
    for name, module in sk_avsc._LAZY.items():
        assert hasattr(importlib.import_module(f"sk_avsc.{module}"), name), (name, module)
        assert getattr(sk_avsc, name).__name__ == name
    for name in sk_avsc._SUBMODULES:
        assert getattr(sk_avsc, name).__name__ == f"sk_avsc.{name}"


def test_api_reference_lists_every_public_name():
    from pathlib import Path

    api = (Path(__file__).resolve().parent.parent / "docs" / "api.rst").read_text()
    listed = {line.strip() for line in api.splitlines() if line.startswith("   ")}
    for module in ("sk_avsc", "sk_avsc.openl3", "sk_avsc.embedders", "sk_avsc.datasets",
                   "sk_avsc.metrics", "sk_avsc.report", "sk_avsc.systems", "sk_avsc.store",
                   "sk_avsc.hear", "sk_avsc.aggregation", "sk_avsc.openl3.framing",
                   "sk_avsc.comparison", "sk_avsc.demo",
                   "sk_avsc.experiment"):
        names = set(importlib.import_module(module).__all__) - {"__version__"}
        assert not names - listed, (module, sorted(names - listed))

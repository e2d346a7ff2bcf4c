"""Sphinx configuration for sk_avsc.

Build with ``docs/build.sh`` (``-W``: every warning is an error). The build works offline:

- intersphinx reads the inventories cached in ``docs/_intersphinx/`` when they are there
  (``docs/build.sh --fetch-inventories`` refreshes them on a machine with network access);
  otherwise it fetches the online ones when their host answers, and otherwise leaves that
  project out, so that its references render as plain text instead of failing the build;
- the gallery runs the ``examples/plot_*.py`` scripts in their small settings
  (``SK_AVSC_EXAMPLE_SMALL=1``, the test suite's; ``SK_AVSC_DOCS_FULL=1`` runs the full
  ones), with random OpenL3 weights and nothing downloaded.
"""

import os
import re
import socket
import sys
from pathlib import Path
from urllib.parse import urlparse

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the checkout's package, whichever is installed
sys.path.insert(0, str(HERE))  # docs/_figures.py

import sk_avsc  # noqa: E402

project = "sk_avsc"
author = "sk_avsc developers"
copyright = "sk_avsc developers"
release = sk_avsc.__version__
version = release
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
]
templates_path = ["_templates"]
exclude_patterns = ["_build", "_intersphinx", "**.ipynb_checkpoints", "auto_examples/*.md5"]
# |openl3_page| links to docs/openl3.rst (the page for openl3 users, in the top-level
# toctree), or names it while a checkout does not have it yet.
rst_epilog = (
    ".. |openl3_page| replace:: :doc:`/openl3`\n" if (HERE / "openl3.rst").exists()
    else ".. |openl3_page| replace:: the page for openl3 users (``docs/openl3.rst``)\n"
)

# --- API reference ---------------------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"inherited-members": False}
numpydoc_show_class_members = False
# numpydoc's validation runs as a separate report (docs/validate_docstrings.py), not in the
# build: numpydoc 1.11's validator raises on some valid sources, which would stop the build.
toc_object_entries_show_parents = "hide"  # "fit()" in a page's table of contents, not "Cls.fit()"
numpydoc_class_members_toctree = False
# sklearn's inherited `score` says "Return :ref:`accuracy <accuracy_score>` ...": that label
# is scikit-learn's; the user guide defines a local one (method.rst) so it resolves offline.

# --- intersphinx, offline-safe ----------------------------------------------------------
_INVENTORIES = {
    "python": "https://docs.python.org/3",
    "numpy": "https://numpy.org/doc/stable",
    "sklearn": "https://scikit-learn.org/stable",
    "torch": "https://docs.pytorch.org/docs/stable",
    "skorch": "https://skorch.readthedocs.io/en/stable",
    "joblib": "https://joblib.readthedocs.io/en/stable",
    "dask": "https://docs.dask.org/en/stable",
    "distributed": "https://distributed.dask.org/en/stable",
}
INVENTORY_DIR = HERE / "_intersphinx"


def _reachable(url, timeout=2.0):
    host = urlparse(url).hostname
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
    except OSError:
        return False
    return True


def _intersphinx_mapping():
    mapping, offline = {}, []
    online = None
    for name, url in _INVENTORIES.items():
        cached = INVENTORY_DIR / f"{name}.inv"
        if cached.exists():
            mapping[name] = (url, str(cached))
            continue
        if online is None:  # one probe: DNS fails fast on an offline machine
            online = os.environ.get("SK_AVSC_DOCS_OFFLINE") != "1" and _reachable(url)
        if online:
            mapping[name] = (url, None)
        else:
            offline.append(name)
    if offline:
        print(f"intersphinx: no cached inventory and no network for {', '.join(offline)}; "
              "their references render as plain text", file=sys.stderr)
    return mapping


intersphinx_mapping = _intersphinx_mapping()
intersphinx_timeout = 10

# --- theme ------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sk_avsc {release}"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_show_sourcelink = False
html_theme_options = {
    "logo": {"text": "sk_avsc"},
    "navbar_align": "left",
    # six top-level titles (with the openl3 page's) do not fit beside the search button at
    # 1280 px: four links, then "More" (the theme adds it only for two or more pages)
    "header_links_before_dropdown": 4,
    "navigation_with_keys": False,
    "show_toc_level": 2,
    # pages led by the wide fusion figure get the full width
    "secondary_sidebar_items": {"**": ["page-toc"], "index": [], "method": []},
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"index": [], "install": []}

# --- figures drawn at build time --------------------------------------------------------


def _draw_figures(app):
    import _figures

    _figures.draw_all(HERE / "_static" / "generated")


def _skip_member(app, what, name, obj, skip, options):
    # scikit-learn generates set_{fit,score,...}_request on every estimator; their docstrings
    # point into scikit-learn's own glossary and user guide, which do not resolve here
    if re.fullmatch(r"set_\w+_request", name):
        return True
    return None


def setup(app):
    app.connect("builder-inited", _draw_figures)
    app.connect("autodoc-skip-member", _skip_member)


# --- example gallery (examples/*.py) ----------------------------------------------------
# Only plot_*.py scripts are executed while building; the others are shown as code.
os.environ.setdefault("MPLBACKEND", "Agg")
if os.environ.get("SK_AVSC_DOCS_FULL") != "1":
    os.environ.setdefault("SK_AVSC_EXAMPLE_SMALL", "1")
# figures the scripts save besides plt.show() go to a scratch folder, not into examples/
_EXAMPLE_OUT = HERE / "_build" / "example-output"
_EXAMPLE_OUT.mkdir(parents=True, exist_ok=True)
os.environ.setdefault("SK_AVSC_OUT", str(_EXAMPLE_OUT))
try:
    import sphinx_gallery  # noqa: F401
except ImportError:  # the API reference still builds without it
    pass
else:
    extensions.append("sphinx_gallery.gen_gallery")
    sphinx_gallery_conf = {
        "examples_dirs": "../examples",
        "gallery_dirs": "auto_examples",
        "filename_pattern": "/plot_",
        "abort_on_example_error": True,
        "download_all_examples": False,
        "remove_config_comments": True,
        "reset_modules": ("matplotlib",),
        "show_signature": False,
    }

"""Sphinx configuration for sk_avsc (API reference from numpydoc docstrings)."""

import sk_avsc

project = "sk_avsc"
author = "sk_avsc developers"
release = sk_avsc.__version__
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "numpydoc",
]
autosummary_generate = True
numpydoc_show_class_members = False
intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable", None),
    "sklearn": ("https://scikit-learn.org/stable", None),
    "torch": ("https://pytorch.org/docs/stable", None),
    "skorch": ("https://skorch.readthedocs.io/en/stable", None),
}
html_theme = "pydata_sphinx_theme"
exclude_patterns = ["_build"]

# The example gallery (examples/*.py; the `docs` extra installs sphinx-gallery). Only
# plot_*.py scripts are executed while building; the others are shown as code.
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
    }

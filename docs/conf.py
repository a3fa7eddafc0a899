"""Sphinx configuration for qiskit-multicloud."""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))
sys.path.insert(0, os.path.abspath("_ext"))

from qiskit_multicloud.version import __version__  # noqa: E402

project = "qiskit-multicloud"
author = "qiskit-multicloud developers"
release = __version__
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "gate_maps",
    "compare_picture",
]
autodoc_typehints = "description"
autodoc_member_order = "bysource"
napoleon_google_docstring = True
# Attributes sections as :ivar: fields: no duplicate entries next to autodoc's own members.
napoleon_use_ivar = True
exclude_patterns = ["_build", "_generated"]
html_theme = "alabaster"
nitpicky = False
suppress_warnings = ["ref.python"]

"""``python -m qiskit_multicloud`` is the ``qiskit-multicloud`` command."""

import sys

from .cli import main

sys.exit(main())

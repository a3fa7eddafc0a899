"""Package version, kept in one place for setup.cfg and the runtime."""

__version__ = "0.1.0"

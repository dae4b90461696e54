from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sgldsim")
    """The installed package's version (``0.1.0`` in a source tree that is not installed)."""
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.1.0"

"""The version of fakemail."""

__version__ = "0.1.0"

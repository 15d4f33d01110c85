"""The library version, recorded in every episode so results can be traced to code."""

__version__ = "0.1.0"

"""Yara ORM: a fast async Python ORM with a compiled Rust engine."""

from . import exceptions
from .pool import Pool, Transaction, connect

__all__ = ["Pool", "Transaction", "connect", "exceptions"]
__version__ = "0.1.0"

"""``Index`` and ``FullTextIndex`` for ``Meta.indexes`` (Tortoise's ``tortoise.indexes``
module)."""

from .models import FullTextIndex, Index

__all__ = ["FullTextIndex", "Index"]

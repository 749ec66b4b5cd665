"""``Index`` for ``Meta.indexes`` (Tortoise's ``tortoise.indexes`` module)."""

from .models import Index

__all__ = ["Index"]

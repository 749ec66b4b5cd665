"""``Manager``, a model's default queryset factory (``Meta.manager``)."""

from .models import Manager

__all__ = ["Manager"]

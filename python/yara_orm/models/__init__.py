"""Models: ``class User(Model): ...``."""

from .manager import Manager
from .meta import MODEL_REGISTRY, FullTextIndex, Index, MetaInfo, ModelMeta
from .model import Model, RawQuery
from .related import NoneAwaitable

__all__ = [
    "MODEL_REGISTRY",
    "FullTextIndex",
    "Index",
    "Manager",
    "MetaInfo",
    "Model",
    "ModelMeta",
    "NoneAwaitable",
    "RawQuery",
]

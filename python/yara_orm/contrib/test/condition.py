"""Value matchers for asserting on rows: ``assert rows == [{"id": NotEQ(0), "n": In(1, 2)}]``."""

from __future__ import annotations

from typing import Any

__all__ = ["Condition", "In", "NotEQ", "NotIn"]


class Condition:
    def __init__(self, value: Any) -> None:
        self.value = value

    __hash__ = None  # type: ignore[assignment]  # compares by predicate, not by value


class NotEQ(Condition):
    """Equal to anything but ``value``."""

    def __eq__(self, other: object) -> bool:
        return bool(self.value != other)

    def __repr__(self) -> str:
        return f"<!={self.value!r}>"


class In(Condition):
    """Equal to any of the given values."""

    def __init__(self, *values: Any) -> None:
        super().__init__(values)

    def __eq__(self, other: object) -> bool:
        return other in self.value

    def __repr__(self) -> str:
        return f"<in {self.value!r}>"


class NotIn(Condition):
    """Equal to anything not among the given values."""

    def __init__(self, *values: Any) -> None:
        super().__init__(values)

    def __eq__(self, other: object) -> bool:
        return other not in self.value

    def __repr__(self) -> str:
        return f"<not in {self.value!r}>"

"""Fixtures of the reliability tests: the ORM on each backend with fresh tables."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from yara_orm import Connection

from .._tables import fresh_orm
from . import models


@pytest.fixture
async def orm(db_url: str) -> AsyncIterator[Connection]:
    async with fresh_orm(db_url, models, max_size=4) as conn:
        yield conn

"""Integrations: ``yara_orm.contrib.pydantic`` (pydantic models from ORM models) and
``yara_orm.contrib.test`` (test-case helpers)."""

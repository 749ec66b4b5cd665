"""The conformance suite: run it with ``python -m yara_orm.conformance URL``."""

"""The backend conformance kit: ``python -m yara_orm.conformance URL [--backend MODULE:SPEC]
[--report r.json] [--thorough]``.

Also a pytest plugin (``pytest --yara-url URL --pyargs yara_orm.conformance.suite``). See
``conformance/README.md`` in the repository for how to certify a backend.
"""

from .expectations import BUILTIN_EXPECTED_FAILURES

__all__ = ["BUILTIN_EXPECTED_FAILURES"]

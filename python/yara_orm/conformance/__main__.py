"""``python -m yara_orm.conformance URL [--backend MODULE:SPEC] [--report report.json] [--thorough]``."""

import sys

from .cli import main

sys.exit(main())

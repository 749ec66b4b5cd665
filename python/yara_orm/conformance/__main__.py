"""``python -m yara_orm.conformance URL [--report report.json] [--long]``."""

import sys

from .cli import main

sys.exit(main())

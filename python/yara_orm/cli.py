"""The ``yara`` command (also ``python -m yara_orm``): ``yara migrations ...``."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from .migrations.cli import run

_USAGE = "usage: yara migrations {makemigrations,migrate,showmigrations,sqlmigrate,check,squash,lint} ..."


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(_USAGE)
        return 0 if args else 2
    if args[0] == "migrations":
        return run(args[1:])
    print(f"yara: unknown command {args[0]!r}\n{_USAGE}", file=sys.stderr)
    return 2


def entry() -> None:
    """The console script."""
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # The output was piped into a command that stopped reading (``| head``): not an error.
        # Point stdout at nothing so the interpreter's final flush does not complain.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    sys.exit(code)

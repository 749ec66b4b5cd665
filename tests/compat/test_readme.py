"""Every fenced Python block of README.md runs as written (on SQLite), each in a fresh process
started in an empty directory, the way a reader would paste it into a script. Top-level
``await`` is allowed, as in ``python -m asyncio``; a block that calls ``asyncio.run`` itself runs
as a plain script."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCK_RE = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)

# Runs one block as ``__main__`` (so ``modules={"models": ["__main__"]}`` finds its models).
DRIVER = """
import ast, asyncio, inspect, sys
source = sys.stdin.read()
code = compile(source, "README.md", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
namespace = sys.modules["__main__"].__dict__
result = eval(code, namespace)
if inspect.iscoroutine(result):
    async def main():
        try:
            await result
        finally:
            from yara_orm import YaraOrm
            await YaraOrm.close()
    asyncio.run(main())
"""


def blocks() -> list[tuple[int, str]]:
    text = README.read_text()
    return [(text[: m.start()].count("\n") + 1, m.group(1)) for m in BLOCK_RE.finditer(text)]


def test_readme_has_python_blocks() -> None:
    assert len(blocks()) >= 3


@pytest.mark.parametrize(("line", "source"), blocks(), ids=[f"line{line}" for line, _ in blocks()])
def test_readme_block_runs(line: int, source: str, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER],
        input=source,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"README.md block at line {line} failed:\n{proc.stderr[-3000:]}"

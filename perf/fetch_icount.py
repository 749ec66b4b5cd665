"""Instructions per fetch, by thread: `fetch_loop.py` under callgrind, for numbers that hold still.

Wall and CPU times of one fetch moved by 10-15% between identical runs on the shared 2-vCPU
machine, so a change worth 3% could not be seen in them. Instruction counts do not move: this runs
``fetch_loop.py`` under valgrind's callgrind twice (``--short`` and ``--long`` timed calls, the
same set-up), and the difference divided by the extra calls is what one fetch costs each thread,
in instructions, with the functions that cost most. Threads are numbered as callgrind numbers
them: 1 is the loop thread, 2 the engine's runtime worker. (Callgrind runs one thread at a time,
so this says nothing about how the threads overlap; ``fetch_loop.py`` and ``perf sched`` do.)

    .venv/bin/python perf/fetch_icount.py [--backend mysql|postgres] [--mode orm|tuples|read]
                                          [--short 5] [--long 25] [--top 15]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
# One line of callgrind_annotate's function list: "1,234,567 (12.34%)  file:function [object]".
FUNCTION_LINE = re.compile(r"^\s*([\d,]+)\s+(?:\(\s*[\d.]+%\)\s+)?(.*?)(?:\s+\[[^\]]*\])?\s*$")


def run(backend: str, mode: str, calls: int, out: Path) -> None:
    subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--separate-threads=yes",
            f"--callgrind-out-file={out}",
            sys.executable,
            str(HERE / "fetch_loop.py"),
            "--backend",
            backend,
            "--mode",
            mode,
            "--iterations",
            str(calls),
            "--no-gc",
        ],
        check=True,
        capture_output=True,
    )


def functions(path: Path) -> tuple[int, dict[str, int]]:
    """The thread's total instructions and its instructions by function (self cost)."""
    text = subprocess.run(
        ["callgrind_annotate", "--auto=no", "--threshold=100", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    total, by_name = 0, {}
    listing = False
    for line in text.splitlines():
        match = FUNCTION_LINE.match(line)
        if not match or not match.group(1)[0].isdigit():
            continue
        count, name = int(match.group(1).replace(",", "")), match.group(2)
        if name == "PROGRAM TOTALS":
            total, listing = count, True
        elif listing:
            # Keep the file's base name only: the build directories differ between machines.
            name = re.sub(r"^\S*/", "", name)
            by_name[name] = by_name.get(name, 0) + count
    return total, by_name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("mysql", "postgres"), default="mysql")
    parser.add_argument("--mode", choices=("orm", "tuples", "read"), default="orm")
    parser.add_argument("--short", type=int, default=5, help="timed calls of the first run")
    parser.add_argument("--long", type=int, default=25, help="timed calls of the second run")
    parser.add_argument("--top", type=int, default=15, help="functions to list per thread")
    args = parser.parse_args()
    if args.long <= args.short:
        raise SystemExit("--long must be more calls than --short")
    for tool in ("valgrind", "callgrind_annotate"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed (apt-get install valgrind)")
    extra = args.long - args.short
    with tempfile.TemporaryDirectory() as tmp:
        outs = {calls: Path(tmp) / f"calls{calls}.out" for calls in (args.short, args.long)}
        # The two runs are independent: one per core.
        with ThreadPoolExecutor(2) as pool:
            for future in [pool.submit(run, args.backend, args.mode, c, o) for c, o in outs.items()]:
                future.result()
        threads = sorted(p.name.rsplit("-", 1)[1] for p in Path(tmp).glob(f"{outs[args.long].name}-*"))
        for thread in threads:
            long_total, long_fns = functions(Path(f"{outs[args.long]}-{thread}"))
            short_path = Path(f"{outs[args.short]}-{thread}")
            short_total, short_fns = functions(short_path) if short_path.exists() else (0, {})
            per_call = (long_total - short_total) / extra
            if per_call < 1e5:
                continue  # a thread that does no per-fetch work (a blocking-pool thread)
            print(f"thread {int(thread)}: {per_call / 1e6:.2f} M instructions per fetch")
            diffs = {name: (n - short_fns.get(name, 0)) / extra for name, n in long_fns.items()}
            for name, n in sorted(diffs.items(), key=lambda kv: -kv[1])[: args.top]:
                print(f"  {n / 1e3:9.0f} K  {n / per_call:5.1%}  {name[:110]}")


if __name__ == "__main__":
    main()

"""Run every ``tests/bench/bench_*.py`` in turn (``make bench``) and print their tables.

Each script runs in its own process, with the same Python; extra arguments are not passed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def main() -> int:
    here = Path(__file__).resolve().parent
    failed = []
    for script in sorted(here.glob("bench_*.py")):
        print(f"\n## {script.name}\n", flush=True)
        code = subprocess.call([sys.executable, str(script)], cwd=here.parents[1])
        if code:
            failed.append(script.name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

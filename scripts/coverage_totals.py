"""Print line and branch coverage separately (``coverage report`` shows only their combination).

Run after ``pytest --cov``: ``python scripts/coverage_totals.py``. Reads the ``.coverage`` data file.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import coverage


def main() -> None:
    data = coverage.Coverage()
    data.load()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "coverage.json"
        data.json_report(outfile=str(path))
        totals = json.loads(path.read_text())["totals"]
    lines, covered_lines = totals["num_statements"], totals["covered_lines"]
    branches, covered_branches = totals["num_branches"], totals["covered_branches"]
    print(
        f"coverage: lines {100 * covered_lines / lines:.1f}% ({covered_lines}/{lines}), "
        f"branches {100 * covered_branches / branches:.1f}% ({covered_branches}/{branches})"
    )


if __name__ == "__main__":
    main()

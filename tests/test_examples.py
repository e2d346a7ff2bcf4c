"""Every script in examples/ runs to the end in its small setting and says what it did."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# script, extra arguments, a line the output must contain
CASES = [
    ("quickstart_embeddings.py", ["--hop", "1.0"], "audio: clip (480000, 2) -> embeddings ("),
    ("plot_quickstart_pipeline.py", [], "proposed fusion: clip accuracy"),
    ("plot_grid_search_locations.py", [], "best hidden sizes:"),
    ("reproduce_table2.py", [], "| proposed |"),
]


def test_every_example_is_covered():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(c[0] for c in CASES)


@pytest.mark.slow
@pytest.mark.parametrize("script, args, expected", CASES, ids=[c[0] for c in CASES])
def test_example_runs(script, args, expected, tmp_path):
    env = {**os.environ, "SK_AVSC_EXAMPLE_SMALL": "1", "MPLBACKEND": "Agg",
           "OMP_NUM_THREADS": "1", "SK_AVSC_OUT": str(tmp_path)}
    env.pop("SK_AVSC_TAU_ROOT", None)
    # the checkout's package, whichever sk_avsc is installed
    env["PYTHONPATH"] = os.pathsep.join(
        [str(EXAMPLES.parent)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    proc = subprocess.run([sys.executable, str(EXAMPLES / script), *args], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=600)
    print(proc.stdout)  # shown by pytest -rP
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert expected in proc.stdout, proc.stdout[-3000:]

"""examples/headline/headline.py (the old tool's example) at its small size."""

import pathlib
import subprocess
import sys

HEADLINE = pathlib.Path(__file__).resolve().parents[3] / "examples" / "headline"


def test_headline_example_matches_numpy():
    done = subprocess.run([sys.executable, str(HEADLINE / "headline.py"), "small"],
                          capture_output=True, text=True, timeout=300, cwd=HEADLINE)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "error" in done.stdout and "against numpy.einsum" in done.stdout

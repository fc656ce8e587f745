"""The layout the README describes: light core types, and no import cycle in the engine."""

import subprocess
import sys

from tiny import REPO


def test_the_model_free_lab_loads_without_torch_or_sympy():
    check = "import gsi_core.theory, gsi_core.methods, sys; assert not {'torch', 'sympy'} & set(sys.modules), sys.modules"
    done = subprocess.run([sys.executable, "-c", check], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr

"""``import graphc`` exposes the Keras-style modules; the rarely used ones load on first use."""
from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
import graphc
assert 'graphc.callbacks' not in sys.modules and 'http.client' not in sys.modules, \\
    sorted(m for m in sys.modules if m.startswith(('graphc.callbacks', 'graphc.utils.data')))
print(graphc.callbacks.EarlyStopping.__name__, graphc.utils.to_categorical([1], 2).tolist())
from graphc.datasets import mnist
from graphc.utils import get_file
print(mnist.__name__, get_file.__name__, 'callbacks' in dir(graphc))
try:
    graphc.no_such_module
except AttributeError as e:
    print(e)
"""


def test_import_is_light_and_lazy_modules_load_on_first_use():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert lines[0] == "EarlyStopping [[0.0, 1.0]]"
    assert lines[1] == "graphc.datasets.mnist get_file True"
    assert "has no attribute 'no_such_module'" in lines[2]

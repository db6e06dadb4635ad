"""Test-suite settings: a private graphc home (no writes to ~/.graphc), the verifier after
every pass, and a compile cache shared by all tests of one run (numba compiles are slow)."""
import os
import tempfile

_HOME = tempfile.mkdtemp(prefix="graphc-test-home-")
os.environ["GRAPHC_HOME"] = _HOME
os.environ["GRAPHC_VERIFY"] = "1"
# Compiled kernels persist between runs here (and in CI between the two cache-warm steps).
os.environ.setdefault("GRAPHC_CACHE_DIR",
                      os.path.join(tempfile.gettempdir(), "graphc-test-cache"))

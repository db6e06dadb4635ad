"""Test-suite settings: a private graphc home (no writes to ~/.graphc), the verifier after
every pass, and a compile cache shared by all tests of one run (numba compiles are slow)."""
import getpass
import os
import stat
import sys
import tempfile

_HOME = tempfile.mkdtemp(prefix="graphc-test-home-")
os.environ["GRAPHC_HOME"] = _HOME
os.environ["GRAPHC_VERIFY"] = "1"


def _private_test_cache() -> str:
    """A compile cache that persists between runs (and in CI between the two cache-warm
    steps) and belongs to this user alone: ``<tmp>/graphc-test-cache-<uid>``, created 0700.
    graphc would refuse a folder others can write (and warn in every test), so when that
    folder is not ours and private, a fresh private one is used instead (a cold cache)."""
    uid = os.geteuid() if hasattr(os, "geteuid") else None
    owner = uid if uid is not None else getpass.getuser()
    path = os.path.join(tempfile.gettempdir(), f"graphc-test-cache-{owner}")
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        st = os.lstat(path)
        ok = stat.S_ISDIR(st.st_mode) and (uid is None or (
            st.st_uid == uid and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)))
    except OSError:
        ok = False
    if not ok:
        path = tempfile.mkdtemp(prefix="graphc-test-cache-")
        print(f"conftest: {path} is used as the compile cache (the shared per-user folder "
              f"is not private to this user)", file=sys.stderr)
    return path


if not os.environ.get("GRAPHC_CACHE_DIR"):
    os.environ["GRAPHC_CACHE_DIR"] = _private_test_cache()

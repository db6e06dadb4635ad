"""graphc.codegen.cache trusts only a folder of its own: a cache folder that is group- or
world-writable or owned by another user gets one warning, nothing is read from it or written
to it, and compiling still works; numba's pickled cache files and graphc's marshalled code are
kept in (and only read from) the trusted folder, written 0600."""
import glob
import hashlib
import marshal
import os
import stat
import sys
import textwrap
import warnings

import numpy as np
import pytest

import graphc.cache
from graphc import config
from graphc.codegen import cache

NUMBA_SOURCE = textwrap.dedent('''
    from numba import njit

    @njit(cache=True)
    def kernel(x, out):
        for i in range(x.shape[0]):
            out[i] = x[i] * 2.0 + 1.0
''')
PLAIN_SOURCE = "def f():\n    return 42\n"
OTHER_UID = 4242


@pytest.fixture
def folder(tmp_path, monkeypatch):
    path = tmp_path / "cache"
    monkeypatch.setenv("GRAPHC_CACHE_DIR", str(path))
    monkeypatch.delenv("GRAPHC_LOG_COMPILES", raising=False)
    monkeypatch.setattr(cache, "_WARNED", set())     # each test sees its own first warning
    return path


def _run_kernel(key):
    """Load NUMBA_SOURCE under ``key`` as a fresh module (numba reads its cache from disk),
    run it, return numba's (hits, misses)."""
    sys.modules.pop(f"graphc_gen_{key}", None)
    mod = cache.load_generated_module(NUMBA_SOURCE, key)
    x = np.arange(5, dtype=np.float64)
    out = np.empty_like(x)
    mod.kernel(x, out)
    np.testing.assert_array_equal(out, x * 2 + 1)
    stats = mod.kernel.stats
    sys.modules.pop(f"graphc_gen_{key}", None)
    return sum(stats.cache_hits.values()), sum(stats.cache_misses.values())


def _make_foreign(path, how, monkeypatch):
    """Make ``path`` untrustworthy: writable by group / others, or owned by another uid
    (os.chown when root, else -- and always for "other_owner_stat" -- a stat result that
    says so)."""
    if how == "group_writable":
        os.chmod(path, stat.S_IMODE(os.stat(path).st_mode) | stat.S_IWGRP)
    elif how == "world_writable":
        os.chmod(path, 0o777 if os.path.isdir(path) else 0o666)
    elif how == "other_owner" and os.geteuid() == 0:
        os.chown(path, OTHER_UID, -1)
    else:
        real = cache._stat
        target = os.path.abspath(path)

        def foreign_stat(p, follow):
            st = real(p, follow)
            if os.path.abspath(p) != target:
                return st
            fields = list(st[:10])
            fields[4] = OTHER_UID                    # st_uid
            return os.stat_result(fields)
        monkeypatch.setattr(cache, "_stat", foreign_stat)


def _evil_code_file(folder, key, source):
    """A well-formed bytecode entry for ``source`` whose code returns 666: what someone who
    can write the folder could plant."""
    name = f"graphc_gen_{key}"
    path = os.path.join(str(folder), name + ".py")
    with open(path, "w") as f:
        f.write(source)
    payload = marshal.dumps(compile("def f():\n    return 666\n", path, "exec"))
    code_path = cache._code_path(path)
    os.makedirs(os.path.dirname(code_path), exist_ok=True)
    with open(code_path, "wb") as f:
        f.write(cache._CODE_MAGIC + hashlib.sha256(source.encode()).digest()
                + hashlib.sha256(payload).digest() + payload)
    return code_path


def _tree(folder):
    return sorted((os.path.relpath(os.path.join(r, f), folder), os.path.getsize(
        os.path.join(r, f))) for r, _d, files in os.walk(folder) for f in files)


# ----------------------------------------------------------------------------- creation, modes

def test_cache_folder_and_home_are_created_private(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHC_CACHE_DIR", str(tmp_path / "new" / "cache"))
    assert stat.S_IMODE(os.stat(cache.cache_dir()).st_mode) == 0o700
    monkeypatch.delenv("GRAPHC_CACHE_DIR")
    monkeypatch.setenv("GRAPHC_HOME", str(tmp_path / "home"))
    assert cache.cache_dir() == str(tmp_path / "home" / "cache")
    assert stat.S_IMODE(os.stat(tmp_path / "home").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tmp_path / "home" / "cache").st_mode) == 0o700
    assert config.home() == str(tmp_path / "home")


def test_every_cache_file_is_written_owner_only_even_with_a_lax_umask(folder):
    old = os.umask(0o002)
    try:
        k = cache.key("modes", str(folder))
        assert _run_kernel(k) == (0, 1)
        cache.store_blob(k, "x.o", b"123")
    finally:
        os.umask(old)
    files = [os.path.join(r, f) for r, _d, fs in os.walk(folder) for f in fs]
    suffixes = {os.path.splitext(f)[1] for f in files}
    assert {".py", ".code", ".nbi", ".nbc", ".blob"} <= suffixes
    for f in files:
        assert stat.S_IMODE(os.stat(f).st_mode) == 0o600, f
    assert stat.S_IMODE(os.stat(folder / "__pycache__").st_mode) == 0o700
    assert _run_kernel(k) == (1, 0)           # and they are trusted on the next load


# ---------------------------------------------------------------------- an untrusted folder

@pytest.mark.parametrize("how", ["group_writable", "world_writable", "other_owner",
                                 "other_owner_stat"])
@pytest.mark.parametrize("which", ["folder", "__pycache__"])
def test_untrusted_folder_warns_once_loads_nothing_writes_nothing(folder, monkeypatch,
                                                                  how, which):
    k = cache.key("untrusted", how, which, str(folder))
    folder.mkdir()
    code_path = _evil_code_file(folder, k, PLAIN_SOURCE)       # would run if trusted
    cache.store_blob(k, "planted.o", b"planted")               # written while still trusted
    _make_foreign(str(folder) if which == "folder" else os.path.dirname(code_path), how,
                  monkeypatch)
    before = _tree(folder)
    with pytest.warns(cache.CacheTrustWarning, match="not load compiled code") as record:
        mod = cache.load_generated_module(PLAIN_SOURCE, k)
    assert mod.f() == 42                                        # the planted code never ran
    assert len(record) == 1 and ("GRAPHC_CACHE_DIR" in str(record[0].message))
    assert not mod.__file__.startswith(str(folder))
    with warnings.catch_warnings():
        warnings.simplefilter("error")                          # one warning per folder
        assert cache.load_blob(k, "planted.o") is None
        assert _run_kernel(cache.key("untrusted-numba", how, which, str(folder))) == (0, 1)
        cache.store_blob(k, "new.o", b"new")
        assert cache.load_blob(k, "new.o") == b"new"            # kept in the private folder
        assert graphc.cache.clear() == 0
    assert _tree(folder) == before                              # nothing written or removed
    sys.modules.pop(f"graphc_gen_{k}", None)


def test_the_same_planted_code_runs_from_a_trusted_folder(folder):
    """The counterpart of the test above: it is the folder's state that keeps planted code
    out, not a damaged entry."""
    k = cache.key("trusted-planted", str(folder))
    folder.mkdir(mode=0o700)
    _evil_code_file(folder, k, PLAIN_SOURCE)
    assert cache.load_generated_module(PLAIN_SOURCE, k).f() == 666
    sys.modules.pop(f"graphc_gen_{k}", None)


# ------------------------------------------------------------ untrusted files in a trusted folder

@pytest.mark.parametrize("how", ["group_writable", "other_owner"])
@pytest.mark.parametrize("suffix", [".nbi", ".nbc"])
def test_untrusted_numba_cache_file_is_not_unpickled_and_is_replaced(folder, monkeypatch,
                                                                     how, suffix):
    k = cache.key("numba-file", how, suffix, str(folder))
    assert _run_kernel(k) == (0, 1)
    (target,) = glob.glob(str(folder / "__pycache__" / f"graphc_gen_{k}.kernel-*{suffix}"))
    _make_foreign(target, how, monkeypatch)
    loads = []
    import pickle
    real_loads = pickle.loads
    monkeypatch.setattr(pickle, "loads", lambda data, *a, **kw: loads.append(1) or
                        real_loads(data, *a, **kw))
    assert _run_kernel(k) == (0, 1)                  # a miss: compiled again
    if suffix == ".nbi":
        assert loads == []                           # the foreign index was never unpickled
    monkeypatch.undo()
    monkeypatch.setenv("GRAPHC_CACHE_DIR", str(folder))
    assert _distrust_free(folder)                    # rewritten by us, 0600
    assert _run_kernel(k) == (1, 0)


def _distrust_free(folder):
    return all(cache._distrust(os.path.join(r, f), folder=False) is None
               for r, _d, fs in os.walk(folder) for f in fs)


@pytest.mark.parametrize("how", ["world_writable", "other_owner"])
def test_untrusted_bytecode_or_blob_file_is_a_miss(folder, monkeypatch, how):
    k = cache.key("code-file", how, str(folder))
    folder.mkdir(mode=0o700)
    code_path = _evil_code_file(folder, k, PLAIN_SOURCE)
    os.chmod(code_path, 0o600)
    os.chmod(folder / f"graphc_gen_{k}.py", 0o600)
    blob = cache.store_blob(k, "b.o", b"payload")
    _make_foreign(code_path, how, monkeypatch)
    assert cache.load_generated_module(PLAIN_SOURCE, k).f() == 42
    sys.modules.pop(f"graphc_gen_{k}", None)
    monkeypatch.undo()
    monkeypatch.setenv("GRAPHC_CACHE_DIR", str(folder))
    _make_foreign(blob, how, monkeypatch)
    assert cache.load_blob(k, "b.o") is None


def test_numba_cache_stays_in_the_cache_folder_whatever_numba_cache_dir_says(folder, tmp_path,
                                                                             monkeypatch):
    import numba.core.config as numba_config
    elsewhere = tmp_path / "numba-cache-dir"
    elsewhere.mkdir()
    monkeypatch.setattr(numba_config, "CACHE_DIR", str(elsewhere))
    k = cache.key("numba-cache-dir", str(folder))
    assert _run_kernel(k) == (0, 1)
    assert glob.glob(str(folder / "__pycache__" / f"graphc_gen_{k}.kernel-*.nbi"))
    assert not [f for _r, _d, fs in os.walk(elsewhere) for f in fs if f.endswith(".nbi")]
    assert _run_kernel(k) == (1, 0)

"""graphc.distribute: 2 MPI ranks launched by the tests themselves (``mpiexec -n 2``).

The script run under mpiexec is tests/distribute/dist_script.py (a tiny MLP, Adam with
clipnorm). Each launch compiles a few small functions per rank (seconds); the file stays
around a minute on a 2-core machine.
"""
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

SCRIPT = os.path.join(os.path.dirname(__file__), 'dist_script.py')


def _mpiexec():
    here = os.path.join(os.path.dirname(sys.executable), 'mpiexec')
    return here if os.path.exists(here) else shutil.which('mpiexec')


try:
    import mpi4py  # noqa: F401
    _MISSING = None if _mpiexec() else "mpiexec not found (pip install 'graphc[dist]')"
except ImportError:
    _MISSING = "mpi4py is not installed (pip install 'graphc[dist]')"

needs_mpi = pytest.mark.skipif(_MISSING is not None, reason=_MISSING or '')


def _run(args, ranks, timeout=240, dist_timeout=20):
    env = dict(os.environ, GRAPHC_DIST_TIMEOUT=str(dist_timeout), PYTHONUNBUFFERED='1')
    cmd = [sys.executable, SCRIPT] + args
    if ranks:
        cmd = [_mpiexec(), '-n', str(ranks)] + cmd
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    return proc, time.monotonic() - start


def _weights(out, rank):
    with np.load(os.path.join(out, f'weights_{rank}.npz')) as f:
        return [f[k] for k in sorted(f.files, key=lambda k: int(k.split('_')[1]))]


def _history(out, rank):
    with open(os.path.join(out, f'history_{rank}.json')) as f:
        return json.load(f)


def _ok(proc):
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


@pytest.fixture(scope='module')
def two_rank_run(tmp_path_factory):
    """One process at global batch 16 and two ranks at global batch 16, same data."""
    single = str(tmp_path_factory.mktemp('single'))
    double = str(tmp_path_factory.mktemp('double'))
    p1, _ = _run(['train', single, '--single'], ranks=0)
    _ok(p1)
    p2, _ = _run(['train', double], ranks=2)
    _ok(p2)
    return single, double, p2


@needs_mpi
def test_two_ranks_at_global_batch_match_one_process(two_rank_run):
    single, double, _ = two_rank_run
    ref = _weights(single, 0)
    for rank in (0, 1):
        got = _weights(double, rank)
        assert len(got) == len(ref)
        for a, b in zip(ref, got):
            np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    # and the ranks hold the very same weights (same averaged gradients, same updates)
    for a, b in zip(_weights(double, 0), _weights(double, 1)):
        np.testing.assert_array_equal(a, b)


@needs_mpi
def test_history_is_global_and_validation_reduced(two_rank_run):
    single, double, _ = two_rank_run
    ref = _history(single, 0)
    for rank in (0, 1):
        got = _history(double, rank)
        assert sorted(got) == sorted(ref) == ['acc', 'loss', 'val_acc', 'val_loss']
        for key in ref:
            np.testing.assert_allclose(got[key], ref[key], rtol=1e-5)


@needs_mpi
def test_progress_is_printed_by_one_rank_only(two_rank_run):
    _, _, proc = two_rank_run
    out = proc.stdout
    assert out.count('Epoch 1/2') == 1, out
    assert out.count('Epoch 2/2') == 1, out
    assert out.count('val_loss:') == 2, out


@needs_mpi
def test_resume_from_checkpoint_matches_uninterrupted(tmp_path):
    full, part, resumed = (str(tmp_path / n) for n in ('full', 'part', 'resumed'))
    checkpoint = str(tmp_path / 'ck.h5')
    p, _ = _run(['train', full, '--epochs', '3', '--shuffle'], ranks=2)
    _ok(p)
    p, _ = _run(['train', part, '--epochs', '2', '--shuffle', '--checkpoint', checkpoint],
                ranks=2)
    _ok(p)
    assert os.path.exists(checkpoint)
    p, _ = _run(['train', resumed, '--epochs', '3', '--initial-epoch', '2', '--shuffle',
                 '--resume', checkpoint], ranks=2)
    _ok(p)
    for a, b in zip(_weights(full, 0), _weights(resumed, 0)):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)
    assert _history(resumed, 0)['loss'] == pytest.approx(_history(full, 0)['loss'][2:],
                                                         rel=1e-6)


@needs_mpi
def test_unchanged_program_with_a_sequence_is_sharded_and_ranks_agree(tmp_path):
    # init(all_models=True): no DistributedOptimizer, no graphc.distribute callbacks
    out = str(tmp_path / 'gen')
    p, _ = _run(['train', out, '--generator', '--shuffle', '--auto'], ranks=2)
    _ok(p)
    for a, b in zip(_weights(out, 0), _weights(out, 1)):
        np.testing.assert_array_equal(a, b)
    history = _history(out, 1)
    assert len(history['loss']) == 2 and np.isfinite(history['val_loss']).all()
    assert p.stdout.count('Epoch 1/2') == 1


@needs_mpi
def test_killed_rank_ends_the_job_with_an_error(tmp_path):
    p, elapsed = _run(['die', str(tmp_path), '--how', 'kill'], ranks=2, timeout=120,
                      dist_timeout=5)
    assert p.returncode != 0
    assert elapsed < 100
    assert not os.path.exists(tmp_path / 'weights_0.npz')


@needs_mpi
def test_stalled_rank_makes_the_others_fail_after_the_timeout(tmp_path):
    p, elapsed = _run(['die', str(tmp_path), '--how', 'stop'], ranks=2, timeout=120,
                      dist_timeout=3)
    assert p.returncode != 0
    assert 'DistributedError' in p.stderr and 'waited 3 s' in p.stderr, p.stderr[-3000:]
    assert elapsed < 100


@needs_mpi
def test_mnist_example_distributed_reaches_the_accuracy_of_one_process():
    example = os.path.join(os.path.dirname(__file__), '..', '..', 'examples', 'mnist_mlp.py')
    env = dict(os.environ, GRAPHC_DIST_TIMEOUT='30')
    one = subprocess.run([sys.executable, example, '--quick'], capture_output=True,
                         text=True, timeout=240, env=env)
    _ok(one)
    two = subprocess.run([_mpiexec(), '-n', '2', sys.executable, example, '--quick',
                          '--distributed'], capture_output=True, text=True, timeout=240,
                         env=env)
    _ok(two)

    def final(out):
        lines = [ln for ln in out.splitlines() if ln.startswith('test loss:')]
        assert len(lines) == 1, out       # printed by rank 0 only
        return [float(w) for w in lines[0].split() if w[0].isdigit()]

    loss1, acc1 = final(one.stdout)
    loss2, acc2 = final(two.stdout)
    assert acc1 > 0.8
    assert acc2 == pytest.approx(acc1, abs=0.003) and loss2 == pytest.approx(loss1, rel=1e-3)

"""The example programs of examples/ run end to end with ``--quick`` (offline data), each in
its own Python process, and print a test accuracy well above chance.

The programs compile their models (a cold compile of a model's training step takes tens of
seconds; the compile cache that tests/conftest.py points at makes later runs fast), so the
selected examples start together when the first of these tests runs, two at a time with one
BLAS thread each (two processes with two BLAS threads each would fight over two cores), and
each test waits for its own program.
"""
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, 'examples')
TIMEOUT_S = 900

FALLBACK = "scikit-learn's handwritten digits"   # what an offline run must say it uses
# example -> (extra arguments, {label of the printed accuracy: threshold}, text the output
# must contain). Chance levels: digits 0.10, digit-row sequences 0.50, next character ~0.15
# (always a space), bAbI 1/6, the generated headlines 0.5.
CASES = {
    'mnist_cnn': (['--offline'], {'Test accuracy': 0.80}, FALLBACK),
    'imdb_lstm': (['--offline'], {'Test accuracy': 0.70}, FALLBACK),
    'cifar10_cnn': (['--offline'], {'Test accuracy': 0.80}, FALLBACK),
    'lstm_text_generation': ([], {'Test accuracy': 0.25}, '----- temperature 0.5'),
    'babi_memnn': ([], {'Test accuracy': 0.35}, 'Where is'),
    'multi_io': ([], {'Test accuracy (main_output)': 0.80,
                      'Test accuracy (aux_output)': 0.70}, 'Test results: '),
}


def _run(name):
    args = CASES[name][0]
    env = dict(os.environ)
    env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
    env['PYTHONWARNINGS'] = 'ignore::RuntimeWarning'
    env.setdefault('OPENBLAS_NUM_THREADS', '1')
    env.setdefault('OMP_NUM_THREADS', '1')
    cmd = [sys.executable, os.path.join(EXAMPLES, name + '.py'), '--quick', *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=TIMEOUT_S)


@pytest.fixture(scope='module')
def runs(request):
    """name -> Future of the finished process; the examples whose tests are selected start
    at once (two at a time)."""
    selected = [item.callspec.params['name'] for item in request.session.items
                if item.module is request.module and hasattr(item, 'callspec')]
    pool = ThreadPoolExecutor(max_workers=2)
    futures = {name: pool.submit(_run, name) for name in dict.fromkeys(selected)}
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


def _accuracy(stdout, label):
    found = re.findall(re.escape(label) + r':\s*([0-9.]+)', stdout)
    return float(found[-1]) if found else None


@pytest.mark.parametrize('name', sorted(CASES))
def test_example_runs_and_learns(name, runs):
    proc = runs[name].result()
    tail = (proc.stdout[-2000:] + '\n--- stderr ---\n' + proc.stderr[-3000:])
    assert proc.returncode == 0, f'examples/{name}.py --quick failed:\n{tail}'
    assert CASES[name][2] in proc.stdout, (f'examples/{name}.py did not print '
                                           f'{CASES[name][2]!r}:\n{tail}')
    for label, threshold in CASES[name][1].items():
        acc = _accuracy(proc.stdout, label)
        assert acc is not None, f'examples/{name}.py printed no "{label}: ...":\n{tail}'
        assert acc > threshold, (f'examples/{name}.py: {label} {acc:.4f} is not above '
                                 f'{threshold}:\n{tail}')

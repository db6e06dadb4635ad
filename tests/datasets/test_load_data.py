"""Each dataset's load_data against small generated files in the real formats, served from a
local HTTP server (GRAPHC_DATASETS_ORIGIN) into a temporary graphc home."""
import gzip
import hashlib
import io
import json
import os
import pickle
import subprocess
import sys
import tarfile

import numpy as np
import pytest

import graphc
from graphc import config
from graphc.datasets import (_files, boston_housing, cifar10, cifar100, fashion_mnist, imdb,
                             mnist, reuters)


@pytest.fixture
def serve(file_server, graphc_home, monkeypatch):
    """serve(name, data): publish a file under its remote name, with its real hash recorded."""
    monkeypatch.setenv(_files.ORIGIN_ENV, file_server.url())
    config.reset()

    def publish(name, data, algorithm='sha256'):
        file_server.files['/' + name] = data
        digest = hashlib.new(algorithm, data).hexdigest()
        monkeypatch.setitem(_files.FILES, name, (_files.FILES[name][0], digest))

    yield publish
    config.reset()


def npz_bytes(**arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def objects(seqs):
    out = np.empty(len(seqs), dtype=object)
    for i, s in enumerate(seqs):
        out[i] = s
    return out


def test_nothing_is_downloaded_at_import(file_server, tmp_path):
    env = dict(os.environ, GRAPHC_HOME=str(tmp_path / 'home'))
    env[_files.ORIGIN_ENV] = file_server.url()
    root = os.path.dirname(os.path.dirname(os.path.abspath(graphc.__file__)))
    subprocess.run([sys.executable, '-c', 'import graphc.datasets, graphc.utils'], env=env,
                   cwd=root, check=True, timeout=60)
    assert file_server.requests == []
    assert not (tmp_path / 'home' / 'datasets').exists()


def test_mnist(serve, graphc_home, file_server):
    rng = np.random.RandomState(0)
    arrays = {'x_train': rng.randint(0, 256, (6, 28, 28)).astype(np.uint8),
              'y_train': np.arange(6, dtype=np.uint8),
              'x_test': rng.randint(0, 256, (2, 28, 28)).astype(np.uint8),
              'y_test': np.array([7, 9], dtype=np.uint8)}
    serve('mnist.npz', npz_bytes(**arrays))
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    for got, key in ((x_train, 'x_train'), (y_train, 'y_train'), (x_test, 'x_test'),
                     (y_test, 'y_test')):
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, arrays[key])
    assert (graphc_home / 'datasets' / 'mnist.npz').exists()
    mnist.load_data()
    assert file_server.count('mnist.npz') == 1  # the second call used the cache


def test_mnist_wrong_hash_is_refused(serve, file_server, monkeypatch):
    file_server.files['/mnist.npz'] = npz_bytes(x=np.zeros(1))
    with pytest.raises(ValueError, match='sha256'):
        mnist.load_data()


def idx_gz(array):
    header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, '>u4').tobytes()
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def test_fashion_mnist_reads_idx_files(serve, graphc_home):
    rng = np.random.RandomState(1)
    x_train = rng.randint(0, 256, (5, 28, 28)).astype(np.uint8)
    y_train = np.array([0, 9, 3, 3, 1], np.uint8)
    x_test = rng.randint(0, 256, (3, 28, 28)).astype(np.uint8)
    y_test = np.array([5, 6, 7], np.uint8)
    serve('train-images-idx3-ubyte.gz', idx_gz(x_train))
    serve('train-labels-idx1-ubyte.gz', idx_gz(y_train))
    serve('t10k-images-idx3-ubyte.gz', idx_gz(x_test))
    serve('t10k-labels-idx1-ubyte.gz', idx_gz(y_test))
    (a, b), (c, d) = fashion_mnist.load_data()
    assert a.shape == (5, 28, 28) and a.dtype == np.uint8 and d.shape == (3,)
    np.testing.assert_array_equal(a, x_train)
    np.testing.assert_array_equal(b, y_train)
    np.testing.assert_array_equal(c, x_test)
    np.testing.assert_array_equal(d, y_test)
    assert (graphc_home / 'datasets' / 'fashion-mnist' / 't10k-labels-idx1-ubyte.gz').exists()


def test_fashion_mnist_bad_idx_header_is_named(serve):
    for name in fashion_mnist.FILES:
        serve(name, gzip.compress(b'\x00\x00\x0d\x01' + b'\x00' * 8))  # float IDX, not bytes
    with pytest.raises(ValueError, match='not an IDX file of unsigned bytes'):
        fashion_mnist.load_data()


def cifar_batch(images, labels, label_keys):
    """A batch as the original Python 2 files hold it: bytes keys, (n, 3072) uint8 rows."""
    batch = {b'data': images.reshape(len(images), 3072), b'batch_label': b'generated'}
    for key in label_keys:
        batch[key.encode()] = list(labels[key])
    return pickle.dumps(batch, protocol=2)


def tar_gz(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w:gz') as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_cifar10_channels_last_and_first(serve, graphc_home):
    rng = np.random.RandomState(2)
    members, images, labels = {}, [], []
    for i, name in enumerate(['data_batch_1', 'data_batch_2', 'data_batch_3', 'data_batch_4',
                              'data_batch_5', 'test_batch']):
        x = rng.randint(0, 256, (2, 3, 32, 32)).astype(np.uint8)
        y = [i, 9 - i]
        members['cifar-10-batches-py/' + name] = cifar_batch(x, {'labels': y}, ['labels'])
        images.append(x)
        labels.append(y)
    serve('cifar-10-python.tar.gz', tar_gz(members))

    (x_train, y_train), (x_test, y_test) = cifar10.load_data()
    assert x_train.shape == (10, 32, 32, 3) and x_train.dtype == np.uint8
    assert y_train.shape == (10, 1) and y_train.dtype == np.uint8
    assert x_test.shape == (2, 32, 32, 3) and y_test.shape == (2, 1)
    np.testing.assert_array_equal(x_train[2], images[1][0].transpose(1, 2, 0))
    np.testing.assert_array_equal(y_train[:, 0], np.concatenate(labels[:5]))
    np.testing.assert_array_equal(y_test[:, 0], labels[5])
    assert (graphc_home / 'datasets' / 'cifar-10-batches-py' / 'test_batch').exists()

    config.set('image_data_format', 'channels_first')
    (x_train, _), _ = cifar10.load_data()
    assert x_train.shape == (10, 3, 32, 32)
    np.testing.assert_array_equal(x_train[9], images[4][1])


def test_cifar100_fine_and_coarse_labels(serve):
    rng = np.random.RandomState(3)
    x_train = rng.randint(0, 256, (3, 3, 32, 32)).astype(np.uint8)
    x_test = rng.randint(0, 256, (1, 3, 32, 32)).astype(np.uint8)
    keys = ['fine_labels', 'coarse_labels']
    train = {'fine_labels': [99, 0, 42], 'coarse_labels': [19, 0, 7]}
    test = {'fine_labels': [5], 'coarse_labels': [1]}
    serve('cifar-100-python.tar.gz', tar_gz({
        'cifar-100-python/train': cifar_batch(x_train, train, keys),
        'cifar-100-python/test': cifar_batch(x_test, test, keys)}))

    (a, b), (c, d) = cifar100.load_data()
    assert a.shape == (3, 32, 32, 3) and c.shape == (1, 32, 32, 3)
    assert b[:, 0].tolist() == [99, 0, 42] and d[:, 0].tolist() == [5]
    (_, b), (_, d) = cifar100.load_data(label_mode='coarse')
    assert b[:, 0].tolist() == [19, 0, 7] and d[:, 0].tolist() == [1]
    with pytest.raises(ValueError, match="'fine' or 'coarse'"):
        cifar100.load_data(label_mode='medium')


# imdb / reuters: each sequence starts with a distinct word that encodes its label, so the
# pairing of sequences and labels can be checked after the shuffle.
TRAIN = [[10, 4, 1], [11, 2], [12, 5, 5, 6], [13], [14, 1, 1, 1, 1], [15, 3]]
TEST = [[20, 7], [21, 1, 2, 3], [22], [23, 9, 9]]


def label_of(raw):
    return raw[0] % 2


def imdb_npz():
    return npz_bytes(x_train=objects(TRAIN), y_train=np.array([label_of(s) for s in TRAIN]),
                     x_test=objects(TEST), y_test=np.array([label_of(s) for s in TEST]))


def test_imdb_default_encoding(serve):
    serve('imdb.npz', imdb_npz())
    (x_train, y_train), (x_test, y_test) = imdb.load_data()
    assert x_train.dtype == object and x_train.shape == (6,) and y_test.shape == (4,)
    expected_train = sorted([1] + [w + 3 for w in s] for s in TRAIN)
    assert sorted(x_train.tolist()) == expected_train
    assert sorted(x_test.tolist()) == sorted([1] + [w + 3 for w in s] for s in TEST)
    for seq, label in zip(list(x_train) + list(x_test), list(y_train) + list(y_test)):
        assert label == label_of([seq[1] - 3])
    # the order is the seeded shuffle: the same seed gives the same order, another differs
    again, _ = imdb.load_data()
    assert again[0].tolist() == x_train.tolist()
    other, _ = imdb.load_data(seed=7)
    assert other[0].tolist() != x_train.tolist()


def test_imdb_vocabulary_options(serve):
    serve('imdb.npz', imdb_npz())
    (x_train, _), (x_test, _) = imdb.load_data(num_words=8, skip_top=5, index_from=3)
    for seq in list(x_train) + list(x_test):
        assert seq[0] == 2  # start_char 1 is below skip_top, so it becomes oov too
        assert all(w == 2 or 5 <= w < 8 for w in seq)
    (x_train, _), _ = imdb.load_data(num_words=8, oov_char=None, start_char=None,
                                     index_from=0)
    assert sorted(x_train.tolist()) == sorted([w for w in s if w < 8] for s in TRAIN)


def test_imdb_maxlen_filters_each_split(serve):
    serve('imdb.npz', imdb_npz())
    (x_train, y_train), (x_test, y_test) = imdb.load_data(maxlen=3)
    # Keras 2 keeps the sequences strictly shorter than maxlen, start mark included.
    assert x_train.tolist() == [[1, 16]] and y_train.tolist() == [label_of([13])]
    assert x_test.tolist() == [[1, 25]] and y_test.tolist() == [label_of([22])]
    with pytest.raises(ValueError, match='increase maxlen'):
        imdb.load_data(maxlen=2)


def test_imdb_keyword_compatibility(serve):
    serve('imdb.npz', imdb_npz())
    with pytest.warns(DeprecationWarning, match='nb_words'):
        (x_train, _), _ = imdb.load_data(nb_words=6)
    assert max(max(s) for s in x_train) < 6
    with pytest.raises(TypeError, match='bogus'):
        imdb.load_data(bogus=1)


def test_imdb_word_index_md5_checked(serve):
    serve('imdb_word_index.json', json.dumps({'the': 1, 'movie': 2}).encode(), 'md5')
    assert imdb.get_word_index() == {'the': 1, 'movie': 2}


def test_reuters_split_and_word_index(serve):
    xs = TRAIN + TEST
    serve('reuters.npz', npz_bytes(x=objects(xs), y=np.array([s[0] for s in xs])))
    (x_train, y_train), (x_test, y_test) = reuters.load_data(test_split=0.3)
    assert len(x_train) == int(10 * 0.7) and len(x_test) == 3
    for seq, label in zip(list(x_train) + list(x_test), list(y_train) + list(y_test)):
        assert seq[0] == 1 and seq[1] == label + 3
    serve('reuters_word_index.json', json.dumps({'oil': 1}).encode(), 'md5')
    assert reuters.get_word_index() == {'oil': 1}


def test_reuters_file_with_code_in_its_pickle_is_refused(serve):
    class Evil:
        def __reduce__(self):
            return (print, ('this must not run',))

    evil = np.empty(1, dtype=object)
    evil[0] = Evil()
    serve('reuters.npz', npz_bytes(x=evil, y=np.array([0])))
    with pytest.raises(pickle.UnpicklingError, match='builtins.print'):
        reuters.load_data()


def test_boston_housing_split(serve):
    rng = np.random.RandomState(4)
    x = rng.rand(10, 13)
    y = rng.rand(10) * 50
    serve('boston_housing.npz', npz_bytes(x=x, y=y))
    (x_train, y_train), (x_test, y_test) = boston_housing.load_data(test_split=0.2)
    assert x_train.shape == (8, 13) and x_test.shape == (2, 13) and y_train.shape == (8,)
    rows = {tuple(r): t for r, t in zip(x, y)}
    for r, t in zip(np.concatenate([x_train, x_test]), np.concatenate([y_train, y_test])):
        assert rows[tuple(r)] == t
    assert sorted(map(tuple, np.concatenate([x_train, x_test]))) == sorted(map(tuple, x))
    with pytest.raises(ValueError, match='test_split'):
        boston_housing.load_data(test_split=1.0)

"""HDF5Matrix: rows of an HDF5 dataset used like a numpy array (also by fit / predict)."""
import numpy as np
import pytest

h5py = pytest.importorskip('h5py')

from graphc.utils.io_utils import HDF5Matrix, ask_to_proceed_with_overwrite  # noqa: E402


@pytest.fixture(scope='module')
def h5file(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('h5') / 'data.h5')
    with h5py.File(path, 'w') as f:
        f['x'] = np.arange(60, dtype='float32').reshape(20, 3)
        f['y'] = (np.arange(20) % 2).astype('float32').reshape(20, 1)
    yield path
    HDF5Matrix.refs.pop(path).close()


def test_rows_between_start_and_end_index_like_an_array(h5file):
    full = np.arange(60, dtype='float32').reshape(20, 3)
    x = HDF5Matrix(h5file, 'x', start=5, end=15)
    rows = full[5:15]
    assert len(x) == 10 and x.shape == (10, 3) and x.ndim == 2 and x.size == 30
    assert x.dtype == np.float32
    np.testing.assert_array_equal(x[2:4], rows[2:4])
    np.testing.assert_array_equal(x[3], rows[3])
    np.testing.assert_array_equal(x[-1], rows[-1])
    np.testing.assert_array_equal(x[::-3], rows[::-3])
    np.testing.assert_array_equal(x[[7, 1, 1, 4]], rows[[7, 1, 1, 4]])
    np.testing.assert_array_equal(x[np.array([0, 9])], rows[[0, 9]])
    np.testing.assert_array_equal(np.asarray(x), rows)
    with pytest.raises(IndexError, match='out of range'):
        x[10]


def test_normalizer_applies_to_what_is_read(h5file):
    x = HDF5Matrix(h5file, 'x', normalizer=lambda a: (a / 2.).astype('float64'))
    assert x.dtype == np.float64 and x.shape == (20, 3)
    np.testing.assert_array_equal(x[1], np.array([1.5, 2., 2.5]))


def test_bad_dataset_or_range_is_refused(h5file):
    with pytest.raises(KeyError, match="no dataset 'z'.*'x', 'y'"):
        HDF5Matrix(h5file, 'z')
    with pytest.raises(ValueError, match='start <= end <= 20'):
        HDF5Matrix(h5file, 'x', start=5, end=25)


def test_a_model_trains_and_predicts_on_hdf5_matrices(h5file):
    from graphc.layers import Dense
    from graphc.models import Sequential
    x, y = HDF5Matrix(h5file, 'x', end=16), HDF5Matrix(h5file, 'y', end=16)
    model = Sequential([Dense(1, input_shape=(3,), activation='sigmoid')])
    model.compile('sgd', 'binary_crossentropy')
    history = model.fit(x, y, batch_size=4, epochs=1, shuffle='batch', verbose=0)
    assert len(history.history['loss']) == 1
    np.testing.assert_allclose(model.predict(x), model.predict(np.asarray(x)), rtol=1e-6)


def test_ask_to_proceed_with_overwrite_reads_the_answer(monkeypatch, capsys):
    answers = iter(['maybe', 'y'])
    monkeypatch.setattr('builtins.input', lambda prompt: next(answers))
    assert ask_to_proceed_with_overwrite('model.h5') is True
    monkeypatch.setattr('builtins.input', lambda prompt: 'n')
    assert ask_to_proceed_with_overwrite('model.h5') is False

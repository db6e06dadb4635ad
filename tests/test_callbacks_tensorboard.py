"""callbacks.TensorBoard: the event files it writes, read back with TensorBoard's own reader
(scalars per epoch / per batch, weight, output and gradient histograms, weight images, the IR
and layer graphs, projector embeddings). Runs on the reference executor (fast to build)."""
import os
import sys

import numpy as np
import pytest

from graphc import callbacks as cbks
from graphc.layers import Conv2D, Dense, Embedding, Flatten, Input
from graphc.models import Model, Sequential
from graphc.optimizers import SGD
from tests.engine.conftest import reference_executor  # noqa: F401 - autouse fixture

pytest.importorskip('tensorboardX', reason='the tensorboard extra (tensorboardX) is needed')
event_accumulator = pytest.importorskip(
    'tensorboard.backend.event_processing.event_accumulator',
    reason="TensorBoard's reader (the tensorboard package, in the test extra) is needed")


def _read(log_dir):
    acc = event_accumulator.EventAccumulator(
        str(log_dir), size_guidance={'scalars': 0, 'histograms': 0, 'images': 0,
                                     'tensors': 0})
    acc.Reload()
    return acc


def _data(n=10, seed=0):
    rng = np.random.RandomState(seed)
    x = rng.rand(n, 3).astype('float32')
    y = (x @ np.array([[1.], [-2.], [0.5]])).astype('float32')
    return x, y


def _dense_model():
    x = Input(shape=(3,))
    model = Model(x, Dense(1)(Dense(4, activation='relu')(x)))
    model.compile(SGD(lr=0.1), 'mse', metrics=['mae'])
    return model


def test_epoch_scalars_match_the_history(tmp_path):
    x, y = _data(20)
    model = _dense_model()
    h = model.fit(x, y, batch_size=5, epochs=3, verbose=0, validation_split=0.25,
                  callbacks=[cbks.TensorBoard(log_dir=str(tmp_path))])
    acc = _read(tmp_path)
    assert {'loss', 'val_loss', 'mean_absolute_error',
            'val_mean_absolute_error'} <= set(acc.Tags()['scalars'])
    for tag in ('loss', 'val_loss', 'mean_absolute_error'):
        events = acc.Scalars(tag)
        assert [e.step for e in events] == [0, 1, 2]
        np.testing.assert_allclose([e.value for e in events], h.history[tag], rtol=1e-6)
    assert acc.Tags()['histograms'] == []           # histogram_freq=0


@pytest.mark.parametrize('update_freq, steps', [
    ('batch', [4, 8, 10, 10, 14, 18, 20, 20]),
    (5, [8, 10, 14, 20, 20]),                        # every >= 5 samples, plus epoch ends
])
def test_update_freq_writes_batch_scalars_at_samples_seen(tmp_path, update_freq, steps):
    x, y = _data(10)
    model = _dense_model()
    batch_losses = []
    record = cbks.LambdaCallback(on_batch_end=lambda b, logs: batch_losses.append(logs['loss']))
    h = model.fit(x, y, batch_size=4, epochs=2, verbose=0, shuffle=False,
                  callbacks=[record, cbks.TensorBoard(str(tmp_path), update_freq=update_freq)])
    events = _read(tmp_path).Scalars('loss')
    assert [e.step for e in events] == steps
    if update_freq == 'batch':
        want = batch_losses[:3] + [h.history['loss'][0]] + batch_losses[3:] + \
            [h.history['loss'][1]]
        np.testing.assert_allclose([e.value for e in events], want, rtol=1e-6)


def test_histograms_gradients_and_images(tmp_path):
    rng = np.random.RandomState(1)
    x = rng.rand(16, 4, 4, 1).astype('float32')
    y = rng.rand(16, 1).astype('float32')
    model = Sequential([Conv2D(2, (2, 2), input_shape=(4, 4, 1)), Flatten(), Dense(1)])
    model.compile(SGD(lr=0.05), 'mse')
    tb = cbks.TensorBoard(str(tmp_path), histogram_freq=2, write_grads=True,
                          write_images=True)
    model.fit(x, y, batch_size=4, epochs=3, verbose=0, validation_split=0.5, callbacks=[tb])
    acc = _read(tmp_path)
    hists = set(acc.Tags()['histograms'])
    assert {'conv2d_1/kernel', 'conv2d_1/bias', 'dense_1/kernel', 'dense_1/bias',
            'conv2d_1_out', 'flatten_1_out', 'dense_1_out', 'conv2d_1/kernel_grad',
            'dense_1/bias_grad'} <= hists
    # written at epochs 0 and 2; the last one holds the final weights
    kernel = acc.Histograms('dense_1/kernel')
    assert [e.step for e in kernel] == [0, 2]
    w = model.layers[2].get_weights()[0]
    last = kernel[-1].histogram_value
    assert last.num == w.size
    assert last.min == pytest.approx(w.min()) and last.max == pytest.approx(w.max())
    assert last.sum == pytest.approx(w.sum(), rel=1e-5)
    # the output histogram covers every validation sample
    assert acc.Histograms('dense_1_out')[-1].histogram_value.num == 8
    # d mean((p - y)^2) / d bias = mean(2 (p - y)) over the validation data (x[8:])
    pred = model.predict(x[8:])
    grad = acc.Histograms('dense_1/bias_grad')[-1].histogram_value
    assert grad.num == 1
    assert grad.sum == pytest.approx(float(np.mean(2 * (pred - y[8:]))), rel=1e-4, abs=1e-6)
    # images: the Conv2D kernel (2, 2, 1, 2) as one row of two 2x2 filters
    image = acc.Images('conv2d_1/kernel/image')
    assert [e.step for e in image] == [0, 2]
    assert (image[-1].height, image[-1].width) == (2, 5)
    dense = acc.Images('dense_1/kernel/image')[-1]        # (18, 1) shown as 1 x 18
    assert (dense.height, dense.width) == (1, 18)


def test_weight_image_layouts():
    img = cbks._weight_image(np.arange(15.).reshape(3, 5))
    assert img.shape == (3, 5) and img.min() == 0 and img.max() == 1
    assert cbks._weight_image(np.zeros((5, 3))).shape == (3, 5)
    np.testing.assert_array_equal(cbks._weight_image(np.ones(4)), np.full((1, 4), 0.5))
    conv1d = cbks._weight_image(np.random.rand(3, 2, 5))   # (k, in, out): 2 x 5 blocks 3x1
    assert conv1d.shape == (2 * 4 - 1, 5 * 2 - 1)
    conv2d = np.zeros((2, 3, 2, 4))
    conv2d[1, 2, 1, 3] = 1.                                 # filter 3, input channel 1
    img = cbks._weight_image(conv2d)
    assert img.shape == (2 * 3 - 1, 4 * 4 - 1)
    assert np.argwhere(img == 1).tolist() == [[3 + 1, 12 + 2]]
    assert cbks._weight_image(np.zeros((2, 2, 2, 2, 2))) is None


def test_graphs_tab_has_the_ir_and_the_layer_graph(tmp_path):
    x, y = _data()
    model = _dense_model()
    model.fit(x, y, epochs=1, verbose=0, callbacks=[cbks.TensorBoard(str(tmp_path))])
    acc = _read(tmp_path)
    graph = acc.Graph()
    nodes = {n.name: n for n in graph.node}
    assert len(nodes) == len(graph.node)                    # names are unique
    assert nodes['input_1'].op == 'Placeholder'
    assert nodes['dense_1/kernel'].op == 'VariableV2'
    matmuls = [n for n in graph.node if n.op in ('dot', 'matmul')
               and 'dense_1/kernel' in n.input]
    assert matmuls and matmuls[0].name.startswith('dense_1/')  # grouped by layer
    # every input names a node of the graph; the training step's updates are Assign nodes
    for n in graph.node:
        for ref in n.input:
            assert ref.split(':')[0] in nodes
    assigns = [n for n in graph.node if n.op == 'Assign']
    assert 'dense_1/kernel' in {n.input[0] for n in assigns}
    import json
    config = json.loads(acc.Tensors('keras')[0].tensor_proto.string_val[0])
    assert [l['config']['name'] for l in config['config']['layers']] == \
        ['input_1', 'dense_2', 'dense_1']          # Dense(1)(Dense(4)(x)): outer built first
    assert 'keras' in acc.PluginTagToContent('graph_keras_model')


def test_embeddings_of_the_embedding_layer_with_metadata(tmp_path):
    model = Sequential([Embedding(10, 3, input_length=2), Flatten(), Dense(1)])
    model.compile(SGD(lr=0.1), 'mse')
    tokens = np.array([[1, 2], [3, 4], [5, 6], [7, 8], [9, 0], [1, 1]])
    meta = tmp_path / 'meta.tsv'
    meta.write_text('\n'.join(f'word{i}' for i in range(6)) + '\n')
    log_dir = tmp_path / 'logs'
    tb = cbks.TensorBoard(str(log_dir), embeddings_freq=1, embeddings_data=tokens,
                          embeddings_metadata={'embedding_1': str(meta)}, batch_size=4)
    model.fit(tokens, np.zeros((6, 1), 'float32'), epochs=2, verbose=0, callbacks=[tb])
    config = (log_dir / 'projector_config.pbtxt').read_text()
    assert config.count('embeddings {') == 2
    assert '00001/embedding_1/tensors.tsv' in config and 'metadata_path' in config
    rows = (log_dir / '00001' / 'embedding_1' / 'tensors.tsv').read_text().splitlines()
    got = np.array([[float(v) for v in r.split('\t')] for r in rows])
    table = model.layers[0].get_weights()[0]
    np.testing.assert_allclose(got, table[tokens].reshape(6, 6), rtol=1e-5)
    labels = (log_dir / '00001' / 'embedding_1' / 'metadata.tsv').read_text().split()
    assert labels == [f'word{i}' for i in range(6)]
    with pytest.raises(ValueError, match='not layers of the model'):
        model.fit(tokens, np.zeros((6, 1)), epochs=1, verbose=0, callbacks=[
            cbks.TensorBoard(str(tmp_path / 'x'), embeddings_freq=1, embeddings_data=tokens,
                             embeddings_layer_names=['nope'])])


def test_bad_arguments_and_missing_validation_data(tmp_path):
    with pytest.raises(ValueError, match='update_freq'):
        cbks.TensorBoard(str(tmp_path), update_freq='sometimes')
    with pytest.raises(ValueError, match='embeddings_data must be provided'):
        cbks.TensorBoard(str(tmp_path), embeddings_freq=1)
    with pytest.warns(UserWarning, match='write_grads will be ignored'):
        cbks.TensorBoard(str(tmp_path), write_grads=True)
    x, y = _data()
    with pytest.raises(ValueError, match='validation_data must be provided'):
        _dense_model().fit(x, y, epochs=1, verbose=0,
                           callbacks=[cbks.TensorBoard(str(tmp_path), histogram_freq=1)])


def test_callback_can_be_copied_before_fit(tmp_path):
    # scikit-learn's clone deep-copies the callbacks given to a KerasClassifier
    import copy
    tb = copy.deepcopy(cbks.TensorBoard(str(tmp_path), update_freq=7))
    assert tb.update_freq == 7 and tb.writer is None


def test_missing_writer_library_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, 'tensorboardX', None)
    with pytest.raises(ImportError, match=r"graphc\[tensorboard\]"):
        cbks.TensorBoard(str(tmp_path))
    assert not os.listdir(tmp_path)

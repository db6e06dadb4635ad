"""Every snippet of the Keras 2 guides listed in issue 4, as written (``graphc`` in place of
``keras``). The first runs on the compiled executor (the default); the rest on the reference
interpreter to keep the suite fast."""
import numpy as np
import pytest

import graphc
import graphc.backend as K
from graphc import config
from graphc.layers import Dense, Input
from graphc.models import Model


@pytest.fixture
def reference():
    previous = config.get('executor')
    config.set('executor', 'reference')
    K.clear_session()
    yield
    config.set('executor', previous)


def _data(n, dim, classes, seed=0):
    centers = np.random.RandomState(42).randn(classes, dim)    # the same for every split
    rng = np.random.RandomState(seed)
    labels = rng.randint(0, classes, n)
    x = (centers[labels] + rng.randn(n, dim) * 0.3).astype('float32')
    return x, graphc.utils.to_categorical(labels, classes)


def test_sequential_getting_started_compiled():
    K.clear_session()
    x_train, y_train = _data(256, 100, 10)
    x_test, y_test = _data(64, 100, 10, seed=1)
    x_batch, y_batch = x_train[:32], y_train[:32]

    from graphc.models import Sequential
    from graphc.layers import Dense, Activation
    model = Sequential()
    model.add(Dense(units=64, input_dim=100))
    model.add(Activation('relu'))
    model.add(Dense(units=10))
    model.add(Activation('softmax'))
    model.compile(loss='categorical_crossentropy', optimizer='sgd', metrics=['accuracy'])
    model.compile(loss=graphc.losses.categorical_crossentropy,
                  optimizer=graphc.optimizers.SGD(lr=0.01, momentum=0.9, nesterov=True))
    history = model.fit(x_train, y_train, epochs=5, batch_size=32, verbose=0)
    model.train_on_batch(x_batch, y_batch)
    loss_and_metrics = model.evaluate(x_test, y_test, batch_size=128, verbose=0)
    classes = model.predict(x_test, batch_size=128)

    assert history.history['loss'][-1] < history.history['loss'][0]
    assert classes.shape == (64, 10)
    assert np.mean(classes.argmax(-1) == y_test.argmax(-1)) > 0.8     # chance: 0.1
    p = np.clip(classes, K.epsilon(), 1 - K.epsilon())
    np.testing.assert_allclose(loss_and_metrics, np.mean(-np.sum(y_test * np.log(p), -1)),
                               rtol=1e-4)


def test_sequential_list_constructor(reference):
    from graphc.models import Sequential
    from graphc.layers import Dense, Activation
    model = Sequential([Dense(32, input_shape=(784,)), Activation('relu'), Dense(10),
                        Activation('softmax')])
    assert model.output_shape == (None, 10)
    assert model.count_params() == 784 * 32 + 32 + 32 * 10 + 10


def test_sequential_without_input_shape_built_on_first_data(reference):
    from graphc.models import Sequential
    from graphc.layers import Flatten
    model = Sequential(); model.add(Flatten()); model.add(Dense(1024, activation='relu'))   # noqa: E702,E501
    model.add(Dense(10, activation='softmax'))
    model.compile(optimizer='Adam', loss='categorical_crossentropy', metrics=['accuracy'])
    x, y = _data(64, 16, 10)
    model.fit(x.reshape(64, 4, 4), y, epochs=1, verbose=0)
    assert model.input_shape == (None, 4, 4)


def test_custom_metric_mean_pred(reference):
    import graphc.backend as K

    def mean_pred(y_true, y_pred): return K.mean(y_pred)   # noqa: E704
    x = Input(shape=(8,))
    model = Model(x, Dense(1, activation='sigmoid')(x))
    model.compile(optimizer='rmsprop', loss='binary_crossentropy',
                  metrics=['accuracy', mean_pred])
    data = np.random.rand(20, 8).astype('float32')
    labels = (data.sum(1, keepdims=True) > 4).astype('float32')
    loss, acc, mp = model.evaluate(data, labels, verbose=0)
    assert model.metrics_names == ['loss', 'acc', 'mean_pred']
    np.testing.assert_allclose(mp, model.predict(data).mean(), rtol=1e-5)


def test_models_are_callable(reference):
    inp = Input(shape=(784,))
    model = Model(inp, Dense(10, activation='softmax')(inp))
    x = Input(shape=(784,)); y = model(x)                      # noqa: E702
    assert y._keras_shape == (None, 10)
    xs = np.random.rand(2, 784).astype('float32')
    np.testing.assert_allclose(Model(x, y).predict(xs), model.predict(xs), rtol=1e-6)


def test_multi_input_multi_output_model(reference):
    # The functional guide's model, verbatim (graphc in place of keras), on one batch of 32
    # (examples/multi_io.py trains it compiled, at the guide's sizes).
    from graphc.layers import Embedding, LSTM
    main_input = Input(shape=(100,), dtype='int32', name='main_input')
    x = Embedding(output_dim=512, input_dim=10000, input_length=100)(main_input)
    lstm_out = LSTM(32)(x)
    auxiliary_output = Dense(1, activation='sigmoid', name='aux_output')(lstm_out)
    auxiliary_input = Input(shape=(5,), name='aux_input')
    x = graphc.layers.concatenate([lstm_out, auxiliary_input])
    x = Dense(64, activation='relu')(x)
    x = Dense(64, activation='relu')(x)
    x = Dense(64, activation='relu')(x)
    main_output = Dense(1, activation='sigmoid', name='main_output')(x)

    model = Model(inputs=[main_input, auxiliary_input], outputs=[main_output, auxiliary_output])
    model.compile(optimizer='rmsprop', loss='binary_crossentropy', loss_weights=[1., 0.2])
    rng = np.random.RandomState(0)
    headline_data = rng.randint(0, 10000, size=(32, 100))
    additional_data = rng.rand(32, 5).astype('float32')
    labels = (additional_data.sum(1, keepdims=True) > 2.5).astype('float32')
    model.fit([headline_data, additional_data], [labels, labels], epochs=2, batch_size=32,
              verbose=0)
    model.compile(optimizer='rmsprop',
                  loss={'main_output': 'binary_crossentropy', 'aux_output': 'binary_crossentropy'},
                  loss_weights={'main_output': 1., 'aux_output': 0.2})
    history = model.fit({'main_input': headline_data, 'aux_input': additional_data},
                        {'main_output': labels, 'aux_output': labels}, epochs=50, batch_size=32,
                        verbose=0)
    losses = history.history['loss']
    assert len(losses) == 50 and losses[-1] < losses[0]
    total, main, aux = model.evaluate([headline_data, additional_data], [labels, labels],
                                      verbose=0)
    np.testing.assert_allclose(total, main + 0.2 * aux, rtol=1e-5)


def test_shared_layer_and_node_errors(reference):
    from graphc.layers import LSTM
    tweet_a, tweet_b = Input(shape=(280, 256)), Input(shape=(280, 256))
    shared_lstm = LSTM(64); encoded_a = shared_lstm(tweet_a); encoded_b = shared_lstm(tweet_b)  # noqa: E702,E501
    lstm = shared_lstm
    with pytest.raises(AttributeError, match=rf'{lstm.name} has multiple inbound nodes.*'
                                             r'get_output_at'):
        lstm.output            # -> a clear error: the layer has several nodes
    assert lstm.get_output_at(0) is encoded_a
    assert lstm.get_output_at(1) is encoded_b
    merged = graphc.layers.concatenate([encoded_a, encoded_b], axis=-1)
    predictions = Dense(1, activation='sigmoid')(merged)
    model = Model(inputs=[tweet_a, tweet_b], outputs=predictions)
    assert len(model.trainable_weights) == len(shared_lstm.trainable_weights) + 2


def test_conv_get_input_shape_at(reference):
    from graphc.layers import Conv2D
    a = Input(shape=(32, 32, 3))
    b = Input(shape=(64, 64, 3))
    conv = Conv2D(16, (3, 3), padding='same')
    conved_a = conv(a)
    assert conv.input_shape == (None, 32, 32, 3)
    conved_b = conv(b)
    assert conv.get_input_shape_at(0) == (None, 32, 32, 3)
    assert conv.get_input_shape_at(1) == (None, 64, 64, 3)
    assert conved_a is conv.get_output_at(0) and conved_b is conv.get_output_at(1)

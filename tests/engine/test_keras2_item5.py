"""Engine behaviour Keras 2 programs rely on (the Keras 2 API issue, item 5: the rest).

The other behaviours of that item (one-element lists, repeated outputs, Dropout noise_shape,
Reshape(-1), SimpleRNN(implementation), Lambda reloading, K.set_learning_phase, fit_generator's
validation_data, clone_model, loss objects) are tested in test_keras2_behaviour.py.
"""
import numpy as np
import pytest

from graphc import backend as K
from graphc import config, regularizers
from graphc.layers import (LSTM, BatchNormalization, Bidirectional, Conv1D, Dense, Dropout,
                           Flatten, GaussianNoise, GlobalMaxPooling1D, Input, Masking,
                           TimeDistributed)
from graphc.models import Model, Sequential

RNG = np.random.RandomState(0)


def test_compile_without_a_loss_trains_on_the_add_loss_losses():
    # variational_autoencoder.py: vae.add_loss(vae_loss); vae.compile(optimizer='rmsprop')
    x = Input((3,))
    out = Dense(3, kernel_initializer='zeros', name='decoded')(x)
    model = Model(x, out)
    model.add_loss(K.mean(K.square(out - x)))
    with pytest.warns(UserWarning, match='Output "decoded" missing from loss dictionary'):
        model.compile(optimizer='sgd')
    data = RNG.rand(6, 3).astype('float32')
    # zero kernel and bias: the first loss is the mean square of the data
    np.testing.assert_allclose(model.evaluate(data, verbose=0), np.mean(data ** 2), rtol=1e-5)
    history = model.fit(data, epochs=3, batch_size=6, validation_data=(data, None), verbose=0)
    assert set(history.history) == {'loss', 'val_loss'}
    np.testing.assert_allclose(history.history['loss'][0], np.mean(data ** 2), rtol=1e-5)
    assert history.history['loss'][2] < history.history['loss'][0]
    with pytest.raises(ValueError, match='no target data'):
        model.fit(data, sample_weight=np.ones(6), verbose=0)
    bare = Model(x, Dense(1)(x))
    with pytest.raises(ValueError, match='needs a loss.*add_loss'):
        bare.compile(optimizer='sgd')


def test_a_nested_models_weight_regularizers_count_in_the_outer_loss():
    inner_in = Input((2,))
    inner = Model(inner_in, Dense(1, kernel_initializer='ones', use_bias=False,
                                  kernel_regularizer=regularizers.l2(0.5))(inner_in))
    x = Input((2,))
    outer = Model(x, inner(x))
    assert len(outer.losses) == 1
    outer.compile('sgd', 'mse')
    data = np.ones((2, 2), 'float32')
    # mse of (2 - 0) plus 0.5 * sum(kernel ** 2) = 4 + 1
    np.testing.assert_allclose(outer.evaluate(data, np.zeros((2, 1)), verbose=0), 5., rtol=1e-6)


def test_two_add_loss_calls_stay_two_losses():
    x = Input((2,))
    y = Dense(1, kernel_initializer='ones', bias_initializer='zeros')(x)
    model = Model(x, y)
    model.add_loss(K.mean(y))
    model.add_loss(3. * K.mean(y))
    assert len(model.losses) == 2
    model.compile('sgd', 'mae')
    data = np.ones((2, 2), 'float32')
    # mae |0 - 2| = 2, plus 2 and 6
    np.testing.assert_allclose(model.evaluate(data, np.zeros((2, 1)), verbose=0), 10., rtol=1e-6)


def _steps(batch=4, time=3):
    return (RNG.rand(batch, time, 2) * 3 + 5).astype('float32')


def test_time_distributed_batch_normalization_updates_its_moving_statistics():
    for timesteps in (3, None):      # the time axis known, and batch and time both unknown
        K.clear_session()
        bn = BatchNormalization(momentum=0.)       # the moving mean becomes the batch's
        model = Sequential([TimeDistributed(bn, input_shape=(timesteps, 2))])
        model.compile('sgd', 'mse')
        data = _steps()
        model.fit(data, data, epochs=1, batch_size=4, shuffle=False, verbose=0)
        moving_mean, moving_var = K.batch_get_value([bn.moving_mean, bn.moving_variance])
        flat = data.reshape(-1, 2)
        np.testing.assert_allclose(moving_mean, flat.mean(0), rtol=1e-5)
        np.testing.assert_allclose(moving_var, flat.var(0, ddof=1), rtol=1e-3)   # unbiased


@pytest.mark.parametrize('frozen', ['wrapper', 'layer'])
def test_time_distributed_batch_normalization_honours_trainable_false(frozen):
    bn = BatchNormalization(momentum=0.)
    wrapper = TimeDistributed(bn, input_shape=(3, 2))
    (wrapper if frozen == 'wrapper' else bn).trainable = False
    model = Sequential([wrapper])
    model.compile('sgd', 'mse')
    assert model.trainable_weights == [] and len(model.non_trainable_weights) == 4
    before = model.get_weights()
    data = _steps()
    model.fit(data, np.zeros_like(data), epochs=1, batch_size=4, verbose=0)
    for a, b in zip(before, model.get_weights()):      # gamma, beta and the moving statistics
        np.testing.assert_array_equal(a, b)


def test_time_distributed_masking_masks_each_inner_step():
    # (batch, sentences, words, features): a word of zeros is masked within its sentence
    x = Input((2, 3, 2))
    masked = TimeDistributed(Masking(0.))(x)
    encoded = TimeDistributed(LSTM(2, kernel_initializer='ones', recurrent_initializer='ones',
                                   bias_initializer='zeros'))(masked)
    assert K.int_shape(masked._keras_mask) == (None, 2, 3)
    data = RNG.rand(2, 2, 3, 2).astype('float32')
    data[0, 1, 2] = 0.                     # last word of the second sentence of sample 0
    data[1, 0, 1:] = 0.                    # the last two words of sample 1's first sentence
    f = K.function([x], [masked._keras_mask, encoded, encoded._keras_mask])
    mask, sentences, sentence_mask = f([data])
    np.testing.assert_array_equal(mask, (data != 0).any(-1))
    assert sentence_mask.shape == (2, 2) and sentence_mask.all()
    # a masked word leaves the LSTM state as it was: as if the sentence were shorter
    short = Sequential([LSTM(2, kernel_initializer='ones', recurrent_initializer='ones',
                             bias_initializer='zeros', input_shape=(None, 2))])
    np.testing.assert_allclose(sentences[0, 1], short.predict(data[0, 1:2, :2])[0], rtol=1e-5)
    np.testing.assert_allclose(sentences[1, 0], short.predict(data[1, 0:1, :1])[0], rtol=1e-5)
    unmasked = TimeDistributed(LSTM(2, kernel_initializer='ones', recurrent_initializer='ones',
                                    bias_initializer='zeros'))(x)
    assert not np.allclose(K.function([x], [unmasked])([data])[0][0, 1], sentences[0, 1])


def test_time_distributed_random_layers_with_unknown_batch_and_time():
    x = Input((None, 4))
    dropped, noisy = TimeDistributed(Dropout(0.5))(x), TimeDistributed(GaussianNoise(1.))(x)
    projected = TimeDistributed(Dense(3, kernel_initializer='ones'))(dropped)
    assert K.int_shape(projected) == (None, None, 3)
    f = K.function([x, K.learning_phase()], [dropped, noisy, projected])
    ones = np.ones((3, 5, 4), 'float32')
    out, noise, proj = f([ones, 1])
    assert out.shape == (3, 5, 4) and proj.shape == (3, 5, 3)
    assert set(np.unique(out)) == {0., 2.}                 # dropped, or kept and scaled
    assert noise.std() > 0.5
    np.testing.assert_allclose(proj, np.repeat(out.sum(-1, keepdims=True), 3, -1), rtol=1e-6)
    np.testing.assert_array_equal(f([ones, 0])[0], ones)    # test mode: no dropout


STEP_LAYERS = {
    'Dense': (lambda: Dense(2), (3,)),
    'Conv1D': (lambda: Conv1D(2, 2), (4, 3)),
    'LSTM': (lambda: LSTM(2), (4, 3)),
    'Bidirectional': (lambda: Bidirectional(LSTM(2, return_sequences=True)), (4, 3)),
    'Flatten': (lambda: Flatten(), (4, 3)),
    'GlobalMaxPooling1D': (lambda: GlobalMaxPooling1D(), (4, 3)),
    'Sequential': (lambda: Sequential([Dense(2, input_shape=(3,)), Dense(1)]), (3,)),
}


@pytest.mark.parametrize('timesteps', [2, None])
@pytest.mark.parametrize('kind', sorted(STEP_LAYERS))
def test_time_distributed_applies_any_layer_to_each_step(kind, timesteps):
    make, step_shape = STEP_LAYERS[kind]
    layer = make()
    x = Input((timesteps,) + step_shape)
    out = TimeDistributed(layer)(x)
    data = RNG.rand(2, 2, *step_shape).astype('float32')
    got = K.function([x], [out])([data])[0]
    step = Input(step_shape)
    each = K.function([step], [layer(step)])
    expected = np.stack([each([data[:, t]])[0] for t in range(2)], axis=1)
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_time_distributed_layers_compile_to_native_code():
    config.set('executor', 'compiled')      # the fixture restores the reference executor
    x = Input((None, 2))
    h = TimeDistributed(Dropout(0.25))(TimeDistributed(BatchNormalization(momentum=0.))(x))
    model = Model(x, TimeDistributed(Dense(1))(h))
    model.compile('sgd', 'mse')
    data = _steps(batch=4, time=5)
    model.fit(data, np.zeros((4, 5, 1)), epochs=1, batch_size=4, verbose=0)
    bn = model.layers[1].layer
    np.testing.assert_allclose(K.get_value(bn.moving_mean), data.reshape(-1, 2).mean(0),
                               rtol=1e-5)
    assert model.predict(data[:, :3]).shape == (4, 3, 1)


def test_a_custom_loss_using_sparse_categorical_crossentropy():
    def sparse_loss(y_true, y_pred):
        return K.sparse_categorical_crossentropy(y_true, y_pred)

    model = Sequential([Dense(3, activation='softmax', input_shape=(2,))])
    model.compile('sgd', sparse_loss)
    data, labels = RNG.rand(5, 2).astype('float32'), np.array([0, 2, 1, 2, 0])
    probs = model.predict(data)
    expected = -np.log(probs[np.arange(5), labels]).mean()
    np.testing.assert_allclose(model.evaluate(data, labels, verbose=0), expected, rtol=1e-5)
    history = model.fit(data, labels[:, None], epochs=2, batch_size=5, verbose=0)
    np.testing.assert_allclose(history.history['loss'][0], expected, rtol=1e-5)
    # the target's sizes are unknown to the graph: one that cannot broadcast is refused
    with pytest.raises(ValueError, match=r"shape \(5, 2\).*output's size or size 1"):
        model.fit(data, np.zeros((5, 2)), verbose=0)


def test_target_tensors_replace_the_targets():
    x = Input((2,))
    model = Model(x, Dense(1, kernel_initializer='ones', bias_initializer='zeros')(x))
    target = K.variable(np.array([[1.], [3.]], 'float32'))
    model.compile('sgd', 'mse', target_tensors=[target])
    data = np.ones((2, 2), 'float32')
    # predictions 2 and 2 against targets 1 and 3
    np.testing.assert_allclose(model.evaluate(data, batch_size=2, verbose=0), 1., rtol=1e-6)
    history = model.fit(data, epochs=2, batch_size=2, verbose=0)
    np.testing.assert_allclose(history.history['loss'][0], 1., rtol=1e-6)
    # a placeholder given as the target is fed, as Keras 2 does
    fed = K.placeholder(shape=(None, 1))
    model.compile('sgd', 'mse', target_tensors={model.output_names[0]: fed})
    assert model.targets == [fed]
    with pytest.raises(ValueError, match='No target data'):
        model.fit(data, verbose=0)
    assert model.evaluate(data, np.zeros((2, 1)), verbose=0) > 0.

"""The functional API guide's two-input, two-output model ("multi-input and multi-output
models"): a headline (a sequence of word indices) goes through Embedding -> LSTM, which feeds
an auxiliary output; the LSTM's vector is concatenated with auxiliary inputs, then three
Dense(64, relu) layers lead to the main output. Compiled with loss_weights=[1., 0.2].

The data is generated here with a rule the model can learn, so the program runs offline:
each headline mixes neutral words with "positive" words (indices 1-50) or "negative" words
(51-100); its label is 1 when the positive words outnumber the negative ones. The auxiliary
input holds 5 numbers; the first is the headline's true margin plus noise, which makes the
main output (that sees it) more accurate than the auxiliary output (that sees only the text).

Run:  python examples/multi_io.py [--epochs 5] [--quick]
"""
import argparse

import numpy as np

from graphc.layers import LSTM, Dense, Embedding, Input, concatenate
from graphc.models import Model


def make_data(n, seq_len, vocab, rng):
    """([headlines (n, seq_len) int32, aux (n, 5) float32], labels (n,) float32)."""
    x = rng.randint(101, vocab, size=(n, seq_len))            # neutral words
    n_sentiment = rng.randint(1, 10, size=n)                 # opinionated words per headline
    margin = np.zeros(n)
    for i in range(n):
        pos = rng.rand(n_sentiment[i]) < rng.rand()          # each word positive or negative
        slots = rng.choice(seq_len, n_sentiment[i], replace=False)
        x[i, slots] = np.where(pos, rng.randint(1, 51, n_sentiment[i]),
                               rng.randint(51, 101, n_sentiment[i]))
        margin[i] = pos.sum() - (~pos).sum()
    labels = (margin > 0).astype('float32')
    aux = rng.randn(n, 5)
    aux[:, 0] = margin / 3.0 + 0.5 * aux[:, 0]
    return [x.astype('int32'), aux.astype('float32')], labels


def build_model(seq_len, vocab, embed, units):
    """The guide's model (layer names as in the guide)."""
    # Headline input: meant to receive sequences of `seq_len` integers in [1, vocab).
    main_input = Input(shape=(seq_len,), dtype='int32', name='main_input')
    x = Embedding(output_dim=embed, input_dim=vocab, input_length=seq_len)(main_input)
    lstm_out = LSTM(units)(x)
    auxiliary_output = Dense(1, activation='sigmoid', name='aux_output')(lstm_out)

    auxiliary_input = Input(shape=(5,), name='aux_input')
    x = concatenate([lstm_out, auxiliary_input])
    x = Dense(64, activation='relu')(x)
    x = Dense(64, activation='relu')(x)
    x = Dense(64, activation='relu')(x)
    main_output = Dense(1, activation='sigmoid', name='main_output')(x)

    model = Model(inputs=[main_input, auxiliary_input], outputs=[main_output, auxiliary_output])
    model.compile(optimizer='rmsprop', loss='binary_crossentropy', loss_weights=[1., 0.2],
                  metrics=['accuracy'])
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--epochs', type=int, default=5,
                        help='training epochs (the full-size model overfits the generated '
                             'data after about 5)')
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--quick', action='store_true',
                        help="a CI-speed run: shorter headlines, a smaller vocabulary and "
                             "embedding than the guide's 100 / 10000 / 512")
    args = parser.parse_args(argv)
    epochs = args.epochs
    if args.quick:
        seq_len, vocab, embed, n_train = 20, 1000, 32, 3000
    else:
        seq_len, vocab, embed, n_train = 100, 10000, 512, 10000

    np.random.seed(1337)
    rng = np.random.RandomState(0)
    (x_train, aux_train), y_train = make_data(n_train, seq_len, vocab, rng)
    (x_test, aux_test), y_test = make_data(1000, seq_len, vocab, rng)
    print(f'Generated headlines: {n_train} train, 1000 test, {seq_len} words each from a '
          f'vocabulary of {vocab}; {y_train.mean():.2f} of the labels are 1')

    model = build_model(seq_len, vocab, embed, units=32)
    model.summary()
    model.fit([x_train, aux_train], [y_train, y_train], epochs=epochs,
              batch_size=args.batch_size, verbose=2)
    results = model.evaluate({'main_input': x_test, 'aux_input': aux_test},
                             {'main_output': y_test, 'aux_output': y_test}, verbose=0)
    named = dict(zip(model.metrics_names, results))
    print('Test results: ' + '  '.join(f'{k}: {v:.4f}' for k, v in named.items()))
    main_acc, aux_acc = named['main_output_acc'], named['aux_output_acc']
    print(f'Test accuracy (aux_output): {aux_acc:.4f}')
    print(f'Test accuracy (main_output): {main_acc:.4f}')
    return main_acc, aux_acc


if __name__ == '__main__':
    main()

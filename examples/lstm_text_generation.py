"""A character-level LSTM text generator (the structure of Keras 2's lstm_text_generation.py):
LSTM(128) -> Dense(n_chars, softmax), RMSprop, trained to predict the next character of a
real English text, then sampled at a few temperatures.

The text ships with Python itself, so the program runs offline: the Zen of Python (the
``this`` module) followed by the docstrings of a fixed list of standard-library modules
(about 25,000 characters of technical English). The last 10% of the text is held out; the
program prints the next-character accuracy on it (chance is about 1 in 50 characters; always
guessing the most frequent character, a space, scores about 0.15).

Run:  python examples/lstm_text_generation.py [--epochs 20] [--quick]
"""
import argparse
import codecs
import contextlib
import importlib
import io
import sys

import numpy as np

from graphc.layers import LSTM, Dense
from graphc.models import Sequential
from graphc.optimizers import RMSprop

MODULES = ('argparse', 'json', 're', 'csv', 'heapq', 'itertools', 'subprocess', 'unittest',
           'typing', 'random', 'os', 'collections', 'difflib', 'string')


def load_text():
    """The Zen of Python and the docstrings of MODULES, lower-cased, blank runs collapsed."""
    with contextlib.redirect_stdout(io.StringIO()):   # importing `this` prints the Zen
        this = importlib.import_module('this')
    parts = [codecs.decode(this.s, 'rot13')]
    for name in MODULES:
        doc = importlib.import_module(name).__doc__
        if doc:                                        # None under python -OO
            parts.append(doc)
    text = '\n\n'.join(parts).lower()
    return ' '.join(text.replace('\t', ' ').split(' '))


def windows(text, char_indices, maxlen, step):
    """One-hot (n, maxlen, n_chars) windows of ``text`` and the one-hot next characters."""
    starts = range(0, len(text) - maxlen, step)
    x = np.zeros((len(starts), maxlen, len(char_indices)), dtype='float32')
    y = np.zeros((len(starts), len(char_indices)), dtype='float32')
    for i, s in enumerate(starts):
        for t, ch in enumerate(text[s:s + maxlen]):
            x[i, t, char_indices[ch]] = 1
        y[i, char_indices[text[s + maxlen]]] = 1
    return x, y


def sample(preds, temperature, rng):
    """An index drawn from ``preds`` sharpened (T < 1) or flattened (T > 1)."""
    preds = np.log(np.asarray(preds, dtype='float64') + 1e-12) / temperature
    probs = np.exp(preds - preds.max())
    return int(rng.choice(len(probs), p=probs / probs.sum()))


def generate(model, seed, chars, char_indices, length, temperature, rng):
    """``length`` characters continuing ``seed`` (which is ``maxlen`` long)."""
    sentence, out = seed, []
    for _ in range(length):
        x = np.zeros((1, len(sentence), len(chars)), dtype='float32')
        for t, ch in enumerate(sentence):
            x[0, t, char_indices[ch]] = 1
        nxt = chars[sample(model.predict(x, verbose=0)[0], temperature, rng)]
        out.append(nxt)
        sentence = sentence[1:] + nxt
    return ''.join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--epochs', type=int, default=None,
                        help='training epochs (default 20, or 6 with --quick)')
    parser.add_argument('--batch-size', type=int, default=128)
    parser.add_argument('--quick', action='store_true',
                        help='a CI-speed run: shorter windows, a smaller LSTM, fewer epochs')
    args = parser.parse_args(argv)
    epochs = args.epochs if args.epochs is not None else (6 if args.quick else 20)
    maxlen, units, gen_len = (20, 64, 80) if args.quick else (40, 128, 300)

    np.random.seed(1337)
    text = load_text()
    chars = sorted(set(text))
    char_indices = {c: i for i, c in enumerate(chars)}
    split = int(0.9 * len(text))
    train_text, test_text = text[:split], text[split:]
    x_train, y_train = windows(train_text, char_indices, maxlen, step=3)
    x_test, y_test = windows(test_text, char_indices, maxlen, step=1)
    print(f'Text: the Zen of Python and the docstrings of {len(MODULES)} standard-library '
          f'modules, {len(text)} characters, {len(chars)} distinct')
    print(f'{len(x_train)} training windows of {maxlen} characters, {len(x_test)} held out')

    model = Sequential()
    model.add(LSTM(units, input_shape=(maxlen, len(chars))))
    model.add(Dense(len(chars), activation='softmax'))
    model.compile(loss='categorical_crossentropy', optimizer=RMSprop(lr=0.01),
                  metrics=['accuracy'])
    history = model.fit(x_train, y_train, batch_size=args.batch_size, epochs=epochs, verbose=2)

    rng = np.random.RandomState(7)
    start = rng.randint(0, len(test_text) - maxlen)
    seed = test_text[start:start + maxlen]
    for temperature in (0.2, 0.5, 1.0):
        print(f'----- temperature {temperature}, seed: {seed!r}')
        sys.stdout.write(seed + generate(model, seed, chars, char_indices, gen_len,
                                         temperature, rng) + '\n')

    loss, acc = model.evaluate(x_test, y_test, batch_size=args.batch_size, verbose=0)
    print(f"Final training loss: {history.history['loss'][-1]:.4f}  "
          f"accuracy: {history.history['acc'][-1]:.4f}")
    print(f'Test loss: {loss:.4f}')
    print(f'Test accuracy: {acc:.4f}')
    return acc


if __name__ == '__main__':
    main()

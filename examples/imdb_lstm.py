"""An LSTM sequence classifier: Embedding -> LSTM -> Dense(1, sigmoid), binary crossentropy,
Adam, then the test accuracy (the structure of Keras 2's imdb_lstm.py, with
``graphc.preprocessing.sequence.pad_sequences``).

The IMDB reviews (graphc.datasets.imdb) are downloaded on first use. When the download is not
reachable, or with ``--offline``, the program says so and classifies sequences read from
scikit-learn's handwritten digits instead. No labelled text corpus ships with any package
installed here (scikit-learn's text sets, e.g. 20 newsgroups, are downloads too), so the
fallback is a real data set turned into text: each 8x8 scan is read top to bottom as 8
"words", one per pixel row, the word naming the row's on/off pixel pattern (e.g.
``row00111100``). A ``Tokenizer`` builds the vocabulary from the training texts (rows it never
saw become its ``oov_token``), like a program that tokenizes its own corpus. The label asks a
question about the whole sequence, like a review's sentiment: is the digit one of 0-4 (0) or
5-9 (1)?

Run:  python examples/imdb_lstm.py [--epochs 15] [--batch-size 32] [--quick] [--offline]
"""
import argparse
import sys

import numpy as np

from graphc.layers import LSTM, Dense, Embedding
from graphc.models import Sequential
from graphc.preprocessing import sequence
from graphc.preprocessing.text import Tokenizer


def load_imdb(max_features, maxlen):
    from graphc.datasets import imdb
    (x_train, y_train), (x_test, y_test) = imdb.load_data(num_words=max_features)
    x_train = sequence.pad_sequences(x_train, maxlen=maxlen)
    x_test = sequence.pad_sequences(x_test, maxlen=maxlen)
    return (x_train, y_train), (x_test, y_test), 'IMDB reviews', max_features


def digit_row_texts():
    """Digits as texts of 8 row words ('row' + the row's on/off pixels) and labels."""
    from sklearn.datasets import load_digits
    digits = load_digits()
    bits = (digits.images >= 8).astype(int)                      # (n, 8 rows, 8 pixels)
    texts = [' '.join('row' + ''.join(map(str, row)) for row in image) for image in bits]
    labels = (digits.target >= 5).astype('int32')
    return texts, labels


def load_digit_rows(max_features, maxlen):
    """The digit-row texts, tokenized by a Tokenizer fitted on the training part."""
    texts, labels = digit_row_texts()
    order = np.random.RandomState(0).permutation(len(texts))
    split = int(0.8 * len(texts))
    train, test = order[:split], order[split:]
    tokenizer = Tokenizer(num_words=max_features, oov_token='<unk>')
    tokenizer.fit_on_texts([texts[i] for i in train])
    x_train = tokenizer.texts_to_sequences([texts[i] for i in train])
    x_test = tokenizer.texts_to_sequences([texts[i] for i in test])
    vocab = min(max_features, len(tokenizer.word_index) + 1)
    print(f'Tokenizer: {len(tokenizer.word_index)} distinct words in '
          f'{tokenizer.document_count} training texts; e.g. {texts[train[0]]!r} -> '
          f'{x_train[0]}')
    maxlen = min(maxlen, max(len(s) for s in x_train))
    return ((sequence.pad_sequences(x_train, maxlen=maxlen), labels[train]),
            (sequence.pad_sequences(x_test, maxlen=maxlen), labels[test]),
            "scikit-learn digits read as texts of 8 pixel-row words", vocab)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--epochs', type=int, default=None,
                        help='training epochs (default 15, or 8 with --quick)')
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--quick', action='store_true',
                        help='a CI-speed run: few epochs, a smaller model and data set')
    parser.add_argument('--offline', action='store_true',
                        help="do not try the download; use the digit-row sequences")
    args = parser.parse_args(argv)
    epochs = args.epochs if args.epochs is not None else (8 if args.quick else 15)
    max_features, maxlen = 20000, 80
    units, embed = (32, 32) if args.quick else (128, 128)

    np.random.seed(1337)
    data = None
    if not args.offline:
        try:
            data = load_imdb(max_features, maxlen)
        except Exception as e:  # offline, blocked, or a broken download: say so, fall back
            print(f'IMDB is not available ({type(e).__name__}: {e}).', file=sys.stderr)
    if data is None:
        print("Using scikit-learn's handwritten digits as token sequences instead (no "
              "labelled text ships with an installed package): 8 row tokens per image, "
              "label = digit >= 5.")
        data = load_digit_rows(max_features, maxlen)
    (x_train, y_train), (x_test, y_test), name, vocab = data
    if args.quick:
        x_train, y_train = x_train[:4000], y_train[:4000]
        x_test, y_test = x_test[:1000], y_test[:1000]
    print(f'{name}: {len(x_train)} train and {len(x_test)} test sequences of length '
          f'{x_train.shape[1]}, vocabulary {vocab}')

    model = Sequential()
    model.add(Embedding(vocab, embed))
    model.add(LSTM(units, dropout=0.2, recurrent_dropout=0.2))
    model.add(Dense(1, activation='sigmoid'))
    model.compile(loss='binary_crossentropy', optimizer='adam', metrics=['accuracy'])
    model.fit(x_train, y_train, batch_size=args.batch_size, epochs=epochs, verbose=2,
              validation_data=(x_test, y_test))
    loss, acc = model.evaluate(x_test, y_test, batch_size=args.batch_size, verbose=0)
    print(f'Test score: {loss:.4f}')
    print(f'Test accuracy: {acc:.4f}')
    return acc


if __name__ == '__main__':
    main()

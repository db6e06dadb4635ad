"""A memory network for question answering on bAbI-style stories (the structure of Keras 2's
babi_memnn.py, after Sukhbaatar et al., "End-To-End Memory Networks", 2015).

The stories are generated here, in the form of bAbI task 1 ("single supporting fact"), so
the program runs offline and needs no download::

    Mary moved to the bathroom . John went to the hallway . Where is Mary ? -> bathroom

The story is embedded twice (memory keys m and values c), the question once; the question's
attention over the story is ``softmax(dot(m, q))``; it is added to c, permuted and
concatenated with the question, read by an LSTM, and a Dense softmax picks the answer word.
Chance is 1 in 6 (six places); the program prints the test accuracy. The model is slow to
learn which of two moves of the same person came last (the same holds for this model in
PyTorch): expect about 0.55 after the --quick run and about 0.87 after the full one
(60 epochs, measured).

Run:  python examples/babi_memnn.py [--epochs 60] [--quick]
"""
import argparse

import numpy as np

from graphc.layers import (LSTM, Activation, Dense, Dropout, Embedding, Input, Permute, add,
                           concatenate, dot)
from graphc.models import Model, Sequential
from graphc.optimizers import Adam

PEOPLE = ('Mary', 'John', 'Sandra', 'Daniel')
PLACES = ('bathroom', 'hallway', 'garden', 'office', 'bedroom', 'kitchen')
VERBS = (('moved', 'to'), ('went', 'to'), ('journeyed', 'to'), ('travelled', 'to'),
         ('went', 'back', 'to'))


def make_stories(n, max_sentences, rng):
    """``n`` (story tokens, question tokens, answer) triples. Each story has 2..max_sentences
    sentences of one person moving to one place; the question asks where a person who
    appears in the story is now (the place of their last move)."""
    data = []
    for _ in range(n):
        story, where = [], {}
        for _ in range(rng.randint(2, max_sentences + 1)):
            who = PEOPLE[rng.randint(len(PEOPLE))]
            place = PLACES[rng.randint(len(PLACES))]
            story += [who, *VERBS[rng.randint(len(VERBS))], 'the', place, '.']
            where[who] = place
        who = sorted(where)[rng.randint(len(where))]
        data.append((story, ['Where', 'is', who, '?'], where[who]))
    return data


def vectorize(data, word_idx, story_maxlen, query_maxlen):
    """Int32 story and query arrays (zero-padded in front) and int answer indices."""
    xs = np.zeros((len(data), story_maxlen), dtype='int32')
    xqs = np.zeros((len(data), query_maxlen), dtype='int32')
    ys = np.zeros((len(data),), dtype='int32')
    for i, (story, query, answer) in enumerate(data):
        xs[i, story_maxlen - len(story):] = [word_idx[w] for w in story]
        xqs[i, query_maxlen - len(query):] = [word_idx[w] for w in query]
        ys[i] = word_idx[answer]
    return xs, xqs, ys


def build_model(vocab_size, story_maxlen, query_maxlen, embed=64, units=32):
    """Keras 2's babi_memnn model (encoders are Sequential models used as layers)."""
    input_sequence = Input((story_maxlen,))
    question = Input((query_maxlen,))

    input_encoder_m = Sequential()            # memory keys: (samples, story_maxlen, embed)
    input_encoder_m.add(Embedding(input_dim=vocab_size, output_dim=embed))
    input_encoder_m.add(Dropout(0.3))
    input_encoder_c = Sequential()            # memory values: (samples, story_maxlen, query_maxlen)
    input_encoder_c.add(Embedding(input_dim=vocab_size, output_dim=query_maxlen))
    input_encoder_c.add(Dropout(0.3))
    question_encoder = Sequential()           # (samples, query_maxlen, embed)
    question_encoder.add(Embedding(input_dim=vocab_size, output_dim=embed,
                                   input_length=query_maxlen))
    question_encoder.add(Dropout(0.3))

    input_encoded_m = input_encoder_m(input_sequence)
    input_encoded_c = input_encoder_c(input_sequence)
    question_encoded = question_encoder(question)

    # (samples, story_maxlen, query_maxlen): how well each story word matches each query word
    match = dot([input_encoded_m, question_encoded], axes=(2, 2))
    match = Activation('softmax')(match)
    response = add([match, input_encoded_c])
    response = Permute((2, 1))(response)      # (samples, query_maxlen, story_maxlen)
    answer = concatenate([response, question_encoded])
    answer = LSTM(units)(answer)
    answer = Dropout(0.3)(answer)
    answer = Dense(vocab_size)(answer)
    answer = Activation('softmax')(answer)

    model = Model([input_sequence, question], answer)
    # Keras's example uses rmsprop (lr 0.001) for 120 epochs; Adam at 0.003 gets as far in
    # a fraction of the epochs (checked against the same model written in PyTorch).
    model.compile(optimizer=Adam(lr=0.003), loss='sparse_categorical_crossentropy',
                  metrics=['accuracy'])
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--epochs', type=int, default=None,
                        help='training epochs (default 60, or 12 with --quick)')
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--quick', action='store_true',
                        help='a CI-speed run: shorter stories and fewer epochs')
    args = parser.parse_args(argv)
    epochs = args.epochs if args.epochs is not None else (12 if args.quick else 60)
    n_train, n_test, max_sentences = (3000, 1000, 4) if args.quick else (10000, 1000, 8)

    np.random.seed(1337)
    rng = np.random.RandomState(0)
    train_stories = make_stories(n_train, max_sentences, rng)
    test_stories = make_stories(n_test, max_sentences, rng)
    vocab = sorted({w for story, q, a in train_stories + test_stories for w in story + q + [a]})
    word_idx = {w: i + 1 for i, w in enumerate(vocab)}          # 0 is padding
    vocab_size = len(vocab) + 1
    story_maxlen = max(len(s) for s, _, _ in train_stories + test_stories)
    query_maxlen = max(len(q) for _, q, _ in train_stories + test_stories)
    x_train, xq_train, y_train = vectorize(train_stories, word_idx, story_maxlen, query_maxlen)
    x_test, xq_test, y_test = vectorize(test_stories, word_idx, story_maxlen, query_maxlen)
    story, query, answer = test_stories[0]
    print(f'Generated bAbI-style stories: {n_train} train, {n_test} test, vocabulary '
          f'{vocab_size - 1} words, stories up to {story_maxlen} words')
    print(f"e.g. {' '.join(story)}  {' '.join(query)} -> {answer}")

    model = build_model(vocab_size, story_maxlen, query_maxlen)
    model.fit([x_train, xq_train], y_train, batch_size=args.batch_size, epochs=epochs,
              verbose=2, validation_data=([x_test, xq_test], y_test))
    loss, acc = model.evaluate([x_test, xq_test], y_test, batch_size=args.batch_size,
                               verbose=0)
    print(f'Test loss: {loss:.4f}')
    print(f'Test accuracy: {acc:.4f} (chance: {1 / len(PLACES):.4f})')
    return acc


if __name__ == '__main__':
    main()

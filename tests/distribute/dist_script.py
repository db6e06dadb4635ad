"""Run under mpiexec by tests/distribute/test_distribute.py (also runnable alone: one rank).

    python dist_script.py MODE OUT_DIR [options]

MODE:
  train     fit a tiny MLP data-parallel (or alone with --single) and save the weights,
            History and per-rank log to OUT_DIR.
  die       fit, and rank 1 kills itself (SIGKILL) or stops (SIGSTOP) at step 3.
"""
import argparse
import json
import os
import signal
import sys

import numpy as np


def build(graphc, opt):
    from graphc.layers import Dense
    from graphc.models import Sequential
    np.random.seed(1)
    model = Sequential([Dense(8, activation='tanh', input_shape=(6,)),
                        Dense(3, activation='softmax')])
    model.compile(optimizer=opt, loss='categorical_crossentropy', metrics=['accuracy'])
    return model


def data(n=48):
    rng = np.random.RandomState(0)
    x = rng.randn(n, 6).astype('float32')
    y = np.eye(3, dtype='float32')[rng.randint(0, 3, n)]
    return x, y


def main():
    p = argparse.ArgumentParser()
    p.add_argument('mode')
    p.add_argument('out')
    p.add_argument('--single', action='store_true')
    p.add_argument('--epochs', type=int, default=2)
    p.add_argument('--initial-epoch', type=int, default=0)
    p.add_argument('--batch', type=int, default=16)
    p.add_argument('--shuffle', action='store_true')
    p.add_argument('--resume', default=None)
    p.add_argument('--checkpoint', default=None)
    p.add_argument('--how', default='kill')
    p.add_argument('--generator', action='store_true')
    p.add_argument('--auto', action='store_true',
                   help='init(all_models=True) and an unchanged optimizer and callbacks')
    args = p.parse_args()

    import graphc
    from graphc.optimizers import Adam
    rank = 0
    if not args.single:
        import graphc.distribute as hvd
        hvd.init(seed=123, all_models=args.auto)
        rank = hvd.rank()
        opt = Adam(lr=0.01, clipnorm=1.0)
        if not args.auto:
            opt = hvd.DistributedOptimizer(opt)
    else:
        opt = Adam(lr=0.01, clipnorm=1.0)
    if args.resume:
        if args.single:
            model = graphc.models.load_model(args.resume)
        else:
            model = hvd.load_model(args.resume)
    else:
        model = build(graphc, opt)
    x, y = data()
    callbacks = []
    if args.checkpoint:
        callbacks.append(graphc.callbacks.ModelCheckpoint(args.checkpoint))
    if not args.single and not args.auto:
        callbacks.append(hvd.BroadcastGlobalVariablesCallback(0))
        callbacks.append(hvd.MetricAverageCallback())
    if args.mode == 'die':
        def on_batch_end(batch, logs):
            if rank == 1 and batch == 1:
                os.kill(os.getpid(), signal.SIGKILL if args.how == 'kill' else signal.SIGSTOP)
        callbacks.append(graphc.callbacks.LambdaCallback(on_batch_end=on_batch_end))
    if args.generator:
        from graphc.utils import Sequence

        class Batches(Sequence):
            def __len__(self):
                return len(x) // 8

            def __getitem__(self, i):
                return x[i * 8:(i + 1) * 8], y[i * 8:(i + 1) * 8]
        history = model.fit_generator(Batches(), epochs=args.epochs, verbose=2,
                                      callbacks=callbacks, validation_data=Batches(),
                                      initial_epoch=args.initial_epoch, shuffle=args.shuffle)
    else:
        history = model.fit(x, y, batch_size=args.batch, epochs=args.epochs, verbose=2,
                            callbacks=callbacks, validation_data=(x[:20], y[:20]),
                            shuffle=args.shuffle, initial_epoch=args.initial_epoch)
    os.makedirs(args.out, exist_ok=True)
    np.savez(os.path.join(args.out, f'weights_{rank}.npz'), *model.get_weights())
    with open(os.path.join(args.out, f'history_{rank}.json'), 'w') as f:
        json.dump({k: [float(v) for v in vs] for k, vs in history.history.items()}, f)
    print(f'rank {rank} done', file=sys.stderr)


if __name__ == '__main__':
    main()

"""A tiny Sequential model, compiled (used by the CLI tests for --step)."""
import numpy as np

from graphc.layers import Dense
from graphc.models import Sequential

model = Sequential([Dense(8, activation="relu", input_shape=(4,)), Dense(3)])
model.compile(optimizer="sgd", loss="mse")
model.fit(np.zeros((8, 4), "float32"), np.zeros((8, 3), "float32"), epochs=1, verbose=0)

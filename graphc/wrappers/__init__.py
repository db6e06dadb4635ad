"""Wrappers that let graphc models take part in other libraries' APIs (Keras 2's
``keras.wrappers``): ``graphc.wrappers.scikit_learn`` holds ``KerasClassifier`` and
``KerasRegressor``.

The layer wrappers (``TimeDistributed``, ``Bidirectional``) are ``graphc.layers.wrappers``.
"""

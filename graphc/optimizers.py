"""Optimizers (Keras 2 ``keras.optimizers``) with Keras 2.2's update formulas.

An optimizer turns a loss and the trainable weights into a list of updates ``(variable,
new_value)``; ``model.compile`` puts them into the training step, so the optimizer state
(moments, iteration count) lives in variables updated inside the compiled call. ``lr`` and
the Keras 3 spelling ``learning_rate`` are both accepted.

Example:
    >>> opt = SGD(lr=0.01, momentum=0.9, nesterov=True)
    >>> updates = opt.get_updates(loss, model.trainable_weights)
"""
from __future__ import annotations

import numpy as np

from . import backend as K


def clip_norm(g, c, n):
    """g scaled to norm ``c`` when the global norm ``n`` exceeds it."""
    if c <= 0:
        return g
    return K.switch(K.greater_equal(n, c), g * c / n, g)


class Optimizer:
    """Base class. Subclasses implement ``get_updates(loss, params)``.

    Args:
        clipnorm: clip gradients so their global L2 norm is at most this.
        clipvalue: clip every gradient element to [-clipvalue, clipvalue].
    """

    _ALLOWED = {"clipnorm", "clipvalue"}

    def __init__(self, **kwargs):
        for k in kwargs:
            if k not in self._ALLOWED:
                raise TypeError(f"Unexpected keyword argument passed to optimizer: {k}; "
                                f"valid: lr / learning_rate, the optimizer's own arguments, "
                                f"clipnorm, clipvalue")
        for k in ("clipnorm", "clipvalue"):
            if k in kwargs:
                self._check_hyperparameter(k, kwargs[k], "a bound on the gradients")
        self.__dict__.update(kwargs)
        self.updates = []
        self.weights = []

    @staticmethod
    def _lr(lr, learning_rate, default):
        if lr is not None and learning_rate is not None and lr != learning_rate:
            raise ValueError(f"pass either lr or learning_rate, not both ({lr} vs {learning_rate})")
        return default if lr is None and learning_rate is None else \
            (lr if lr is not None else learning_rate)

    def _check_hyperparameter(self, name, value, what):
        """A clear error at construction for a NaN, infinite or negative hyperparameter
        (each would otherwise turn every weight NaN, or train backwards, without a word)."""
        if value is None or isinstance(value, (str, bytes, bool, np.bool_)):
            raise TypeError(f"{type(self).__name__}: {name} must be a number, got {value!r}")
        if not isinstance(value, (int, float, np.integer, np.floating)):
            return                       # e.g. a tensor: not a Python number to check here
        if not np.isfinite(value):
            raise ValueError(f"{type(self).__name__}: {name} must be a finite number, got "
                             f"{value!r}")
        if value < 0:
            raise ValueError(f"{type(self).__name__}: {name} must be >= 0 ({what}), got "
                             f"{value!r}")

    def _init_common(self, lr, decay):
        self._check_hyperparameter('lr', lr, 'the step size; a negative one climbs the loss')
        self._check_hyperparameter('decay', decay, 'the learning-rate decay per update')
        with K.name_scope(type(self).__name__):
            self.iterations = K.variable(0, dtype="int64", name="iterations")
            self.lr = K.variable(lr, name="lr")
            self.decay = K.variable(decay, name="decay")
        self.initial_decay = decay

    @property
    def learning_rate(self):
        return self.lr

    def _decayed_lr(self):
        lr = self.lr
        if self.initial_decay > 0:
            lr = lr * (1.0 / (1.0 + self.decay * K.cast(self.iterations, K.dtype(self.decay))))
        return lr

    def get_updates(self, loss, params):
        raise NotImplementedError

    def get_gradients(self, loss, params):
        return self.clip_gradients(K.gradients(loss, params))

    def clip_gradients(self, grads):
        """``grads`` clipped by ``clipnorm`` (global norm) and ``clipvalue``, if set."""
        if hasattr(self, "clipnorm") and self.clipnorm > 0:
            norm = K.sqrt(sum(K.sum(K.square(g)) for g in grads))
            grads = [clip_norm(g, self.clipnorm, norm) for g in grads]
        if hasattr(self, "clipvalue") and self.clipvalue > 0:
            grads = [K.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        return grads

    @staticmethod
    def _apply_constraint(p, new_p):
        var = getattr(p, "variable", None)
        constraint = getattr(var, "constraint", None) or getattr(p, "constraint", None)
        return constraint(new_p) if constraint is not None else new_p

    def set_weights(self, weights):
        if len(weights) != len(self.weights):
            raise ValueError(f"{type(self).__name__}.set_weights: expected {len(self.weights)} "
                             f"arrays (the optimizer state), got {len(weights)}")
        for w, value in zip(self.weights, weights):
            if tuple(K.int_shape(w)) != tuple(np.shape(value)):
                raise ValueError(f"optimizer weight {w.name} has shape {K.int_shape(w)}, the "
                                 f"provided array has shape {np.shape(value)}")
        K.batch_set_value(list(zip(self.weights, weights)))

    def get_weights(self):
        return K.batch_get_value(self.weights)

    def get_config(self):
        config = {}
        for k in ("clipnorm", "clipvalue"):
            if hasattr(self, k):
                config[k] = getattr(self, k)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def _zeros(self, params):
        return [K.zeros(K.int_shape(p), dtype=K.dtype(p)) for p in params]


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, Nesterov momentum and decay.

    ``v = momentum*m - lr*g;  p += v`` (Nesterov: ``p += momentum*v - lr*g``).
    """

    def __init__(self, lr=None, momentum=0.0, decay=0.0, nesterov=False, learning_rate=None,
                 **kwargs):
        super().__init__(**kwargs)
        self._init_common(self._lr(lr, learning_rate, 0.01), decay)
        self.momentum = K.variable(momentum, name="momentum")
        self.nesterov = nesterov

    def get_updates(self, loss, params):
        grads = self.get_gradients(loss, params)
        self.updates = [K.update_add(self.iterations, 1)]
        lr = self._decayed_lr()
        moments = self._zeros(params)
        self.weights = [self.iterations] + moments
        for p, g, m in zip(params, grads, moments):
            v = self.momentum * m - lr * g
            self.updates.append(K.update(m, v))
            new_p = p + self.momentum * v - lr * g if self.nesterov else p + v
            self.updates.append(K.update(p, self._apply_constraint(p, new_p)))
        return self.updates

    def get_config(self):
        return dict(super().get_config(), lr=float(K.get_value(self.lr)),
                    momentum=float(K.get_value(self.momentum)),
                    decay=float(K.get_value(self.decay)), nesterov=self.nesterov)


class RMSprop(Optimizer):
    """``a = rho*a + (1-rho)*g**2;  p -= lr*g / (sqrt(a) + eps)``."""

    def __init__(self, lr=None, rho=0.9, epsilon=None, decay=0.0, learning_rate=None, **kwargs):
        super().__init__(**kwargs)
        self._init_common(self._lr(lr, learning_rate, 0.001), decay)
        self.rho = K.variable(rho, name="rho")
        self.epsilon = K.epsilon() if epsilon is None else epsilon

    def get_updates(self, loss, params):
        grads = self.get_gradients(loss, params)
        accumulators = self._zeros(params)
        self.weights = [self.iterations] + accumulators
        self.updates = [K.update_add(self.iterations, 1)]
        lr = self._decayed_lr()
        for p, g, a in zip(params, grads, accumulators):
            new_a = self.rho * a + (1.0 - self.rho) * K.square(g)
            self.updates.append(K.update(a, new_a))
            new_p = p - lr * g / (K.sqrt(new_a) + self.epsilon)
            self.updates.append(K.update(p, self._apply_constraint(p, new_p)))
        return self.updates

    def get_config(self):
        return dict(super().get_config(), lr=float(K.get_value(self.lr)),
                    rho=float(K.get_value(self.rho)), decay=float(K.get_value(self.decay)),
                    epsilon=self.epsilon)


class Adagrad(Optimizer):
    """``a += g**2;  p -= lr*g / (sqrt(a) + eps)``."""

    def __init__(self, lr=None, epsilon=None, decay=0.0, learning_rate=None, **kwargs):
        super().__init__(**kwargs)
        self._init_common(self._lr(lr, learning_rate, 0.01), decay)
        self.epsilon = K.epsilon() if epsilon is None else epsilon

    def get_updates(self, loss, params):
        grads = self.get_gradients(loss, params)
        accumulators = self._zeros(params)
        self.weights = [self.iterations] + accumulators
        self.updates = [K.update_add(self.iterations, 1)]
        lr = self._decayed_lr()
        for p, g, a in zip(params, grads, accumulators):
            new_a = a + K.square(g)
            self.updates.append(K.update(a, new_a))
            new_p = p - lr * g / (K.sqrt(new_a) + self.epsilon)
            self.updates.append(K.update(p, self._apply_constraint(p, new_p)))
        return self.updates

    def get_config(self):
        return dict(super().get_config(), lr=float(K.get_value(self.lr)),
                    decay=float(K.get_value(self.decay)), epsilon=self.epsilon)


class Adadelta(Optimizer):
    """``a = rho*a + (1-rho)*g**2;  u = g*sqrt(d + eps)/sqrt(a + eps);  p -= lr*u;
    d = rho*d + (1-rho)*u**2``."""

    def __init__(self, lr=None, rho=0.95, epsilon=None, decay=0.0, learning_rate=None,
                 **kwargs):
        super().__init__(**kwargs)
        self._init_common(self._lr(lr, learning_rate, 1.0), decay)
        self.rho = rho
        self.epsilon = K.epsilon() if epsilon is None else epsilon

    def get_updates(self, loss, params):
        grads = self.get_gradients(loss, params)
        accumulators = self._zeros(params)
        delta_accumulators = self._zeros(params)
        self.weights = [self.iterations] + accumulators + delta_accumulators
        self.updates = [K.update_add(self.iterations, 1)]
        lr = self._decayed_lr()
        for p, g, a, d_a in zip(params, grads, accumulators, delta_accumulators):
            new_a = self.rho * a + (1.0 - self.rho) * K.square(g)
            self.updates.append(K.update(a, new_a))
            update = g * K.sqrt(d_a + self.epsilon) / K.sqrt(new_a + self.epsilon)
            new_p = p - lr * update
            self.updates.append(K.update(p, self._apply_constraint(p, new_p)))
            new_d_a = self.rho * d_a + (1 - self.rho) * K.square(update)
            self.updates.append(K.update(d_a, new_d_a))
        return self.updates

    def get_config(self):
        return dict(super().get_config(), lr=float(K.get_value(self.lr)), rho=self.rho,
                    decay=float(K.get_value(self.decay)), epsilon=self.epsilon)


class Adam(Optimizer):
    """Adam (Kingma & Ba) with the optional AMSGrad variant:
    ``lr_t = lr*sqrt(1-b2**t)/(1-b1**t);  m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g**2;
    p -= lr_t*m/(sqrt(v) + eps)`` (AMSGrad: sqrt of the running max of v)."""

    def __init__(self, lr=None, beta_1=0.9, beta_2=0.999, epsilon=None, decay=0.0,
                 amsgrad=False, learning_rate=None, **kwargs):
        super().__init__(**kwargs)
        self._init_common(self._lr(lr, learning_rate, 0.001), decay)
        self.beta_1 = K.variable(beta_1, name="beta_1")
        self.beta_2 = K.variable(beta_2, name="beta_2")
        self.epsilon = K.epsilon() if epsilon is None else epsilon
        self.amsgrad = amsgrad

    def get_updates(self, loss, params):
        grads = self.get_gradients(loss, params)
        self.updates = [K.update_add(self.iterations, 1)]
        lr = self._decayed_lr()
        t = K.cast(self.iterations, K.floatx()) + 1
        lr_t = lr * (K.sqrt(1.0 - self.beta_2 ** t) / (1.0 - self.beta_1 ** t))
        ms = self._zeros(params)
        vs = self._zeros(params)
        vhats = self._zeros(params) if self.amsgrad else []
        self.weights = [self.iterations] + ms + vs + vhats
        for i, (p, g, m, v) in enumerate(zip(params, grads, ms, vs)):
            m_t = self.beta_1 * m + (1.0 - self.beta_1) * g
            v_t = self.beta_2 * v + (1.0 - self.beta_2) * K.square(g)
            if self.amsgrad:
                vhat_t = K.maximum(vhats[i], v_t)
                p_t = p - lr_t * m_t / (K.sqrt(vhat_t) + self.epsilon)
                self.updates.append(K.update(vhats[i], vhat_t))
            else:
                p_t = p - lr_t * m_t / (K.sqrt(v_t) + self.epsilon)
            self.updates.append(K.update(m, m_t))
            self.updates.append(K.update(v, v_t))
            self.updates.append(K.update(p, self._apply_constraint(p, p_t)))
        return self.updates

    def get_config(self):
        return dict(super().get_config(), lr=float(K.get_value(self.lr)),
                    beta_1=float(K.get_value(self.beta_1)),
                    beta_2=float(K.get_value(self.beta_2)),
                    decay=float(K.get_value(self.decay)), epsilon=self.epsilon,
                    amsgrad=self.amsgrad)


class Adamax(Optimizer):
    """Adam with the infinity norm: ``u = max(b2*u, |g|);  p -= lr/(1-b1**t) * m/(u + eps)``."""

    def __init__(self, lr=None, beta_1=0.9, beta_2=0.999, epsilon=None, decay=0.0,
                 learning_rate=None, **kwargs):
        super().__init__(**kwargs)
        self._init_common(self._lr(lr, learning_rate, 0.002), decay)
        self.beta_1 = K.variable(beta_1, name="beta_1")
        self.beta_2 = K.variable(beta_2, name="beta_2")
        self.epsilon = K.epsilon() if epsilon is None else epsilon

    def get_updates(self, loss, params):
        grads = self.get_gradients(loss, params)
        self.updates = [K.update_add(self.iterations, 1)]
        lr = self._decayed_lr()
        t = K.cast(self.iterations, K.floatx()) + 1
        lr_t = lr / (1.0 - self.beta_1 ** t)
        ms = self._zeros(params)
        us = self._zeros(params)
        self.weights = [self.iterations] + ms + us
        for p, g, m, u in zip(params, grads, ms, us):
            m_t = self.beta_1 * m + (1.0 - self.beta_1) * g
            u_t = K.maximum(self.beta_2 * u, K.abs(g))
            p_t = p - lr_t * m_t / (u_t + self.epsilon)
            self.updates.append(K.update(m, m_t))
            self.updates.append(K.update(u, u_t))
            self.updates.append(K.update(p, self._apply_constraint(p, p_t)))
        return self.updates

    def get_config(self):
        return dict(super().get_config(), lr=float(K.get_value(self.lr)),
                    beta_1=float(K.get_value(self.beta_1)),
                    beta_2=float(K.get_value(self.beta_2)),
                    decay=float(K.get_value(self.decay)), epsilon=self.epsilon)


class Nadam(Optimizer):
    """Adam with Nesterov momentum and the momentum schedule of Dozat (Keras 2.2 formulas)."""

    def __init__(self, lr=None, beta_1=0.9, beta_2=0.999, epsilon=None, schedule_decay=0.004,
                 learning_rate=None, **kwargs):
        super().__init__(**kwargs)
        self._init_common(self._lr(lr, learning_rate, 0.002), 0.0)
        self.m_schedule = K.variable(1.0, name="m_schedule")
        self.beta_1 = K.variable(beta_1, name="beta_1")
        self.beta_2 = K.variable(beta_2, name="beta_2")
        self.epsilon = K.epsilon() if epsilon is None else epsilon
        self.schedule_decay = schedule_decay

    def get_updates(self, loss, params):
        grads = self.get_gradients(loss, params)
        self.updates = [K.update_add(self.iterations, 1)]
        t = K.cast(self.iterations, K.floatx()) + 1
        decay_base = K.constant(0.96)
        cache_t = self.beta_1 * (1.0 - 0.5 * (decay_base ** (t * self.schedule_decay)))
        cache_t_1 = self.beta_1 * (1.0 - 0.5 * (decay_base ** ((t + 1) * self.schedule_decay)))
        m_schedule_new = self.m_schedule * cache_t
        m_schedule_next = self.m_schedule * cache_t * cache_t_1
        self.updates.append((self.m_schedule, m_schedule_new))
        ms = self._zeros(params)
        vs = self._zeros(params)
        self.weights = [self.iterations, self.m_schedule] + ms + vs
        for p, g, m, v in zip(params, grads, ms, vs):
            g_prime = g / (1.0 - m_schedule_new)
            m_t = self.beta_1 * m + (1.0 - self.beta_1) * g
            m_t_prime = m_t / (1.0 - m_schedule_next)
            v_t = self.beta_2 * v + (1.0 - self.beta_2) * K.square(g)
            v_t_prime = v_t / (1.0 - self.beta_2 ** t)
            m_t_bar = (1.0 - cache_t) * g_prime + cache_t_1 * m_t_prime
            self.updates.append(K.update(m, m_t))
            self.updates.append(K.update(v, v_t))
            p_t = p - self.lr * m_t_bar / (K.sqrt(v_t_prime) + self.epsilon)
            self.updates.append(K.update(p, self._apply_constraint(p, p_t)))
        return self.updates

    def get_config(self):
        return dict(super().get_config(), lr=float(K.get_value(self.lr)),
                    beta_1=float(K.get_value(self.beta_1)),
                    beta_2=float(K.get_value(self.beta_2)), epsilon=self.epsilon,
                    schedule_decay=self.schedule_decay)


# Keras 2's lower-case aliases.
sgd = SGD
rmsprop = RMSprop
adagrad = Adagrad
adadelta = Adadelta
adam = Adam
adamax = Adamax
nadam = Nadam

_OBJECTS = {"SGD": SGD, "RMSprop": RMSprop, "Adagrad": Adagrad, "Adadelta": Adadelta,
            "Adam": Adam, "Adamax": Adamax, "Nadam": Nadam}
_LOWER = {k.lower(): k for k in _OBJECTS}


def serialize(optimizer):
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config, custom_objects=None):
    """An optimizer from ``{'class_name': ..., 'config': ...}`` (class names case-insensitive)."""
    from .utils import deserialize_keras_object
    config = dict(config)
    name = config.get("class_name", "")
    if isinstance(name, str) and name.lower() in _LOWER:
        config["class_name"] = _LOWER[name.lower()]
    return deserialize_keras_object(config, module_objects=_OBJECTS,
                                    custom_objects=custom_objects,
                                    printable_module_name="optimizer")


def get(identifier):
    """An optimizer from a name ('sgd', 'Adam', 'RMSprop' ...), a config dict or an instance."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        return deserialize({"class_name": identifier, "config": {}})
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}; valid names "
                     f"are: {', '.join(sorted(_LOWER))}")

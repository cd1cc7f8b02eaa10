"""The PyTorch fast path equals the generic loop: outputs and gradients."""

import numpy as np
import pytest

from lstm_zoo.layers import LSTM1997
from tests.conftest import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "torch", reason="the PyTorch backend's own path")


def _run(layer, x, initial, coeffs):
    import torch

    x = torch.tensor(x, requires_grad=True)
    states = [torch.tensor(v, requires_grad=True) for v in initial]
    out, h, s = layer(x, initial_state=states, training=False)
    loss = sum((t * torch.tensor(c)).sum() for t, c in zip((out, h, s), coeffs, strict=True))
    sources = [x, *states, *[w.value for w in layer.trainable_weights]]
    grads = torch.autograd.grad(loss, sources, allow_unused=True)
    grads = [np.zeros(v.shape) if g is None else g.detach().numpy() for g, v in
             zip(grads, sources, strict=True)]  # fmt: skip
    return [t.detach().numpy() for t in (out, h, s)], grads


@pytest.mark.parametrize("gradient", ["full", "truncated"])
@pytest.mark.parametrize("config", [{}, {"forget_gate": True}, {"go_backwards": True},
                                    {"use_bias": False}, {"cell_input_bias": False}])  # fmt: skip
def test_torch_path_equals_generic_loop(config, gradient):
    from lstm_zoo.layers import fast_torch

    rng = np.random.default_rng(0)
    layers = []
    for fast in (True, False):
        # float32: Keras' generic loop multiplies float64 matrices in float32
        # on torch (keras-team/keras#23704), so it is no float64 reference.
        layer = LSTM1997(7, gradient=gradient, use_fast_path=fast, dtype="float32",
                         return_sequences=True, return_state=True, **config)  # fmt: skip
        layer.build((None, None, 3))
        layers.append(layer)
    weights = [rng.uniform(-0.7, 0.7, w.shape) for w in layers[0].get_weights()]
    for layer in layers:
        layer.set_weights(weights)
    assert fast_torch.applies(layers[0].cell, None, False, False)
    x = rng.normal(size=(4, 6, 3)).astype("float32")
    initial = [(rng.normal(size=(4, 7)) * 0.5).astype("float32"),
               rng.normal(size=(4, 7)).astype("float32")]  # fmt: skip
    coeffs = [rng.normal(size=shape).astype("float32") for shape in ((4, 6, 7), (4, 7), (4, 7))]
    (got_out, got_grads), (want_out, want_grads) = (_run(la, x, initial, coeffs) for la in layers)
    for a, b in zip(got_out + got_grads, want_out + want_grads, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_torch_path_falls_back_where_it_does_not_apply():
    from lstm_zoo.layers import fast_torch

    for config in ({"cells_per_block": 2}, {"peephole": True}, {"output_gate": False},
                   {"recurrent_input": "cells_and_gates"}, {"activation": "tanh"}):  # fmt: skip
        layer = LSTM1997(4, **config)
        layer.build((None, None, 3))
        assert not fast_torch.applies(layer.cell, None, False, False)
    layer = LSTM1997(4, recurrent_dropout=0.3)
    layer.build((None, None, 3))
    assert fast_torch.applies(layer.cell, None, False, False)
    assert not fast_torch.applies(layer.cell, None, True, False)  # training
    assert not fast_torch.applies(layer.cell, np.ones((2, 3), bool), False, False)

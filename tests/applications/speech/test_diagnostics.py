"""State drift diagnostics: the NumPy cells equal the layers, and drift is counted."""

import numpy as np
import pytest

from lstm_zoo.applications.speech import diagnostics
from lstm_zoo.applications.speech.model import SpeechRecognizer

pytestmark = pytest.mark.tf_only

tf = pytest.importorskip("tensorflow")


def _tone(seconds=0.5, rate=8000, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 440 * t) + 0.01 * rng.standard_normal(len(t))).astype(
        np.float32)


@pytest.mark.parametrize("cell", ["lstm1997", "lstm1997_forget_gate"])
def test_numpy_cells_equal_the_layers(cell):
    model = SpeechRecognizer("digits", sample_rate=8000, num_layers=2, units=6, cell=cell)
    model.build()
    audio = _tone()
    x, frames = model.features((tf.constant(audio[None]), tf.constant([len(audio)])))
    x = np.asarray(x)[0, :int(frames[0])]
    layer = model.rnn_layers[0]
    outputs, states = diagnostics.run_cells(layer.forward_layer, x)
    expected = np.asarray(layer.forward_layer(x[None].astype(np.float32)))[0]
    np.testing.assert_allclose(outputs, expected, atol=2e-5)
    assert states.shape == outputs.shape == (len(x), 6)
    # The output is y_out * h(s): |y_c| < |h(s)| <= 1.
    assert np.all(np.abs(outputs) <= np.abs(2 / (1 + np.exp(-states)) - 1) + 1e-12)


def test_a_state_that_grows_by_two_a_frame_is_counted_as_drift():
    model = SpeechRecognizer("digits", sample_rate=8000, num_layers=1, units=4, cell="lstm1997")
    model.build()
    for layer in (model.rnn_layers[0].forward_layer, model.rnn_layers[0].backward_layer):
        cell = layer.cell
        cell.kernel.assign(np.zeros(cell.kernel.shape, np.float32))
        cell.recurrent_kernel.assign(np.zeros(cell.recurrent_kernel.shape, np.float32))
        # Input gates open (f(30) = 1), cell input g = 4 f(30) - 2 = 2: s(t) = 2 t.
        cell.bias.assign(np.full(cell.bias.shape, 30.0, np.float32))
    report = diagnostics.state_drift(model, [_tone(0.3)])
    frames = int(model.features.frame_lengths(tf.constant([int(0.3 * 8000)]))[0])
    for key in ("layer_0/forward", "layer_0/backward"):
        stats = report[key]
        assert stats["mean_abs_state_last"] == pytest.approx(2.0 * frames, rel=1e-6)
        assert stats["mean_abs_state"] == pytest.approx(frames + 1.0, rel=1e-6)
        assert stats["saturated"] == pytest.approx((frames - 1) / frames)  # all but s(1) = 2


def test_other_cells_are_refused():
    model = SpeechRecognizer("digits", sample_rate=8000, num_layers=1, units=4, cell="keras_lstm")
    with pytest.raises(ValueError, match="1997 cells"):
        diagnostics.state_drift(model, [_tone()])

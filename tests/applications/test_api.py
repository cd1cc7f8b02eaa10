"""The application API: registry, named sizes, compile("auto"), model cards."""

import keras
import pytest

from lstm_zoo import applications
from lstm_zoo.applications.speech.config import SIZES, SpeechConfig


def test_registry_names_the_applications_and_their_sizes():
    assert applications.list_models() == ["captioning", "language_model", "speech"]
    assert applications.list_sizes("language_model") == ["large", "medium", "small"]
    assert applications.list_sizes("speech") == sorted(SIZES)
    every = applications.list_presets()
    names = ("adding", "captioning", "language_model", "speech", "temporal_order",
             "two_sequence")
    assert every == sorted(f"{n}/{p}" for n in names for p in applications.list_presets(n))
    assert {"adding/t100", "captioning/shapes", "temporal_order/6a", "two_sequence/3a"} <= \
        set(every)  # fmt: skip
    with pytest.raises(ValueError, match="Argument `name` must be one of"):
        applications.list_sizes("vision")
    with pytest.raises(ValueError, match="Argument `size` must be one of"):
        applications.get_model("speech", size="huge")
    with pytest.raises(ValueError, match="Argument `preset` must be one of"):
        applications.get_model("speech", preset="no-such-preset")


def test_get_model_builds_the_recipes_size():
    model = applications.get_model("speech", size=SpeechConfig().size, sample_rate=8000)
    assert (model.num_layers, model.units) == (SIZES["small"]["num_layers"],
                                               SIZES["small"]["units"])  # fmt: skip
    wide = applications.get_model("speech", size="small", units=7)  # kwargs win
    assert wide.units == 7


def test_compile_auto_takes_the_applications_optimizer_and_card_names_the_model():
    model = applications.get_model("speech", size="small", sample_rate=8000)
    model.compile()
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert model.optimizer.global_clipnorm == 5.0
    card = model.model_card(training_data="tones", metrics={"wer": 0.1})
    assert card["application"] == "speech" and card["class"] == "SpeechRecognizer"
    assert card["sample_rate"] == 8000 and card["metrics"] == {"wer": 0.1}
    assert card["config"]["units"] == SIZES["small"]["units"]
    assert "vocabulary" not in card["config"]

"""The language model: `model.LanguageModel`, its data (`data`: corpora and
token streams), training over a stream (`stream`), its recipe (`config`,
`recipe`). The tokenizer is `lstm_zoo.applications.text_tokenizer`, shared
with the captioner."""

"""The speech recogniser, raw input to serving signature in one folder:
`data` (corpora, the synthesised digit corpus, the `tf.data` pipeline) ->
`features` (log-mel / MFCC) -> `spec_augment` -> `model.SpeechRecognizer`
(deep bidirectional LSTM, CTC, decoding, serving endpoints) -> `metrics`;
the recipe is `config` and `recipe`."""

"""The image captioner (Show and Tell): `data` (COCO / Flickr loaders, the
`tf.data` pipeline), `shapes` (the embedded shape-scene corpus),
`model.ImageCaptioner` (encoder, decoder, beam search, serving endpoints),
`metrics` (BLEU, CIDEr-D); the recipe is `config` and `recipe`."""

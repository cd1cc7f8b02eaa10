"""Prebuilt models in the `keras.applications` style.

No application has landed yet: speech recognition, image captioning and the
language model are tracked as their own issues and will be added here.
"""

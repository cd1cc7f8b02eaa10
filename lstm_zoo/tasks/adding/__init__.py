"""The adding problem's recipe: `config.AddingConfig` and `recipe.train`."""

"""Trained text classifiers: the transformers risk model, the sentiment model and their n-gram baseline.

Nothing heavy is imported here: torch and transformers load only when a model is trained or scored.
"""

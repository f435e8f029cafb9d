"""The one text normalisation every model applies, at training and at inference alike."""

from __future__ import annotations

import unicodedata


def model_text(text: str) -> str:
    """NFKC (full-width letters and digits to half-width) and trimmed whitespace.

    Kept deliberately light and separate from the pipeline's normaliser: a trained model must see
    exactly what it saw in training, whatever the pipeline's normaliser becomes later.
    """
    return " ".join(unicodedata.normalize("NFKC", text).split())

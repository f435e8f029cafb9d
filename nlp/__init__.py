"""Chinese NLP stage: normalise, segment, keywords, risk, places, sentiment, near-duplicates.

`nlp.pipeline.NlpPipeline` composes the components; each lives in its own module and loads its
data lazily, so importing this package is cheap.
"""

"""The models storydesk runs: the spaCy parser, and MiniLM on ONNX Runtime (CPU) with ``tokenizers`` (no torch at run time).

* :mod:`.bert_onnx`: builds a BERT encoder graph straight from safetensors weights
  (numpy + the ``onnx`` helper API), caches it on disk keyed by a hash of the weights,
  and opens ONNX Runtime sessions with a configurable thread count.
* :mod:`.embeddings`: all-MiniLM-L6-v2 sentence vectors (mean-pooled, L2-normalised),
  with the per-run cache and an optional persistent per-sentence cache.
* :mod:`.judge`: the rewrite judge (the same encoder as a cross-encoder, LoRA folded).
* :mod:`.judge_torch`: the torch judge used for training and as the reference
  (needs the ``train`` extra; never imported at run time).
* :mod:`.nlp`: the spaCy model (en_core_web_sm), loaded once, run once per article;
  stages read its ``Doc`` objects (stored per article by :mod:`storydesk.work`).
* :mod:`.export`: ``python -m storydesk.models.export`` builds both ONNX files ahead of use.
"""

"""Training losses of the Mine & Refine recipe, shaped like sentence-transformers losses."""

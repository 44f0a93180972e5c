"""mrs.indexer — catalog → documents + vectors (text template, batched embedding, embedding cache), written to a backend."""

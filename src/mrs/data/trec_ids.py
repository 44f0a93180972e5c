"""TREC id escaping: the one place that turns query/product ids into whitespace-free TREC tokens and back.

TREC qrels (``qid 0 docid grade``) and run files (``qid Q0 docid rank score tag``) are whitespace
separated, so an id holding whitespace (ESCI uses the query text as its id: ``t towels kitchen``) cannot be
written as is. mrs writes such ids percent-encoded (RFC 3986, every byte but unreserved characters:
``t%20towels%20kitchen``), and an id holding ``%`` too, so that decoding is exact; ids without whitespace
or ``%`` are written unchanged, as every other TREC tool writes them. Readers of both file kinds decode
with ``decode_trec_id``, so a qrels file and a run file written by mrs read back to the same ids.
"""

from __future__ import annotations

from urllib.parse import quote, unquote


def encode_trec_id(text: str) -> str:
    """A TREC token for ``text``: percent-encoded when it holds whitespace or ``%`` (or is empty), else as is."""
    if not text or any(c.isspace() or c == "%" for c in text):
        return quote(text, safe="")
    return text


def decode_trec_id(token: str) -> str:
    """The id a TREC token stands for (inverse of ``encode_trec_id``); a token without ``%`` is returned as is."""
    return unquote(token) if "%" in token else token

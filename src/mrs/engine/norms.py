"""Lucene's one-byte field-length norms (org.apache.lucene.util.SmallFloat.intToByte4 / byte4ToInt).

Lucene stores each document's field length (number of indexed tokens) in one byte; BM25Similarity
decodes it with byte4ToInt before using it as ``dl``. The encoding is exact for lengths 0..39 and then
keeps 4 significant bits (a float with a 3-bit mantissa), always rounding DOWN: 40 → 40, 100 → 96,
1000 → 984. Reference: Lucene SmallFloat (lucene/core/src/java/org/apache/lucene/util/SmallFloat.java)
and BM25Similarity.computeNorm / LENGTH_TABLE.
"""

from __future__ import annotations

import numpy as np

_INT_MAX = 2**31 - 1


def _long_to_int4(i: int) -> int:
    """Float-like encoding with a 3-bit mantissa, exact below 8 ("subnormal" values)."""
    num_bits = i.bit_length()
    if num_bits < 4:
        return i
    shift = num_bits - 4
    return ((i >> shift) & 0x07) | ((shift + 1) << 3)


def _int4_to_long(i: int) -> int:
    bits = i & 0x07
    shift = (i >> 3) - 1
    return bits if shift == -1 else (bits | 0x08) << shift


# 255 − longToInt4(Integer.MAX_VALUE) = 255 − 231 = 24 byte values are used verbatim for lengths 0..23.
NUM_FREE_VALUES = 255 - _long_to_int4(_INT_MAX)


def int_to_byte4(length: int) -> int:
    """Encode a non-negative int (a field length) as Lucene's unsigned norm byte 0..255."""
    if length < 0:
        raise ValueError(f"field length must be ≥ 0, got {length}")
    if length < NUM_FREE_VALUES:
        return length
    return NUM_FREE_VALUES + _long_to_int4(length - NUM_FREE_VALUES)


def byte4_to_int(encoded: int) -> int:
    """Decode an unsigned norm byte (0..255) back to the (rounded-down) length."""
    if not 0 <= encoded <= 255:
        raise ValueError(f"norm byte must be in 0..255, got {encoded}")
    if encoded < NUM_FREE_VALUES:
        return encoded
    return NUM_FREE_VALUES + _int4_to_long(encoded - NUM_FREE_VALUES)


# LENGTH_TABLE[b] = byte4ToInt(b), as BM25Similarity precomputes it.
LENGTH_TABLE = np.array([byte4_to_int(b) for b in range(256)], dtype=np.int64)


def encoded_length(dl: int) -> float:
    """The field length BM25 sees for a document with ``dl`` tokens: byte4ToInt(intToByte4(dl))."""
    return float(LENGTH_TABLE[int_to_byte4(int(dl))])


def encode_lengths(lengths: np.ndarray) -> np.ndarray:
    """Vectorised intToByte4 over an int array of lengths → uint8 norm bytes."""
    lengths = np.asarray(lengths, dtype=np.int64)
    if lengths.size and lengths.min() < 0:
        raise ValueError("field lengths must be ≥ 0")
    # LENGTH_TABLE is non-decreasing; the byte is the last table entry ≤ the length (encoding rounds down).
    return (np.searchsorted(LENGTH_TABLE, lengths, side="right") - 1).astype(np.uint8)

"""64-bit near-duplicate fingerprints of normalised text, for grouping reposts and edited copies.

The fingerprint is a **1-bit MinHash** over 64 hash functions (b-bit minwise hashing, Li & König
2010): for each of 64 salted hash functions, the lowest bit of the minimum hash over the text's
features. Two texts agree on a bit with probability (1 + J) / 2, J being the Jaccard similarity of
their feature sets, so the Hamming distance between fingerprints estimates how much of the text
differs, and 64 bits fit the stored signed 64-bit column and the `hamming` interface unchanged.

It replaced a Charikar SimHash over the same features (kept as `charikar_simhash_many`, for
measurement): on real posts and edited copies of each (`python -m nlp.neardup_eval`, figures in
docs/QUALITY.md) it finds far more copies with an insertion, a deletion or a changed word at the
same false-positive rate. The module and the `Analysis.simhash` field keep their names; `simhash`
and `simhash_many` are the stored fingerprint.

Features are overlapping character 3-grams of the text with a repost prefix ("转：", "【转】",
"转发 @某人："), emoticon codes ([赞]), whitespace, punctuation and symbols removed, so a changed
comma, emoji or prefix costs nothing. A 3-gram's three code points (21 bits each) pack exactly
into one 63-bit integer, which the SplitMix64 finaliser spreads over 64 bits: stable across
processes and machines (unlike `hash()`) and vectorised with numpy over a whole batch. The
fingerprint is returned as a *signed* 64-bit integer so SQLite's INTEGER column stores it as is;
0 means "no fingerprint" (text without content).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

#: Two fingerprints at most this many bits apart are treated as copies of one post (estimated
#: Jaccard similarity of their 3-grams about 0.75 or more). Picked with `nlp.neardup_eval`.
NEAR_DUPLICATE_MAX_DISTANCE = 8

_MASK64 = (1 << 64) - 1
_NOT_CONTENT = re.compile(r"[\W_]+")
# "转：", "转发 @某人：", "转自朋友圈：", "【转】", "RT @someone:" — what a repost puts before the copy.
# Normalised text has lost the "@" and the space of "转发 @某人：" (separators between Chinese
# characters are removed), so 转发/转载/转自 take any short name before the colon.
_REPOST_PREFIX = re.compile(
    r"^\s*(?:【转(?:发|载)?】|(?:转发|转载|转自)\s*@?[^\s:：]{0,20}\s*[:：]|(?:转|repost|rt)\s*(?:@[^\s:：]{1,30}\s*)?[:：])\s*",
    re.IGNORECASE,
)


# Weibo-style emoticons typed as text ([赞], [doge], [图片]): decoration a repost adds or drops.
_EMOTICON = re.compile(r"\[[^\[\]\s]{1,6}\]")


def content_of(text: str) -> str:
    """What a fingerprint is taken over: the text without a repost prefix, emoticon codes,
    whitespace or punctuation."""
    return _NOT_CONTENT.sub("", _EMOTICON.sub("", _REPOST_PREFIX.sub("", text)))


_C0 = np.uint64(0x9E3779B97F4A7C15)
_C1 = np.uint64(0xBF58476D1CE4E5B9)
_C2 = np.uint64(0x94D049BB133111EB)
_S21, _S27, _S30, _S31, _S42 = (np.uint64(n) for n in (21, 27, 30, 31, 42))


def _splitmix64(values: np.ndarray) -> np.ndarray:
    # uint64 arrays wrap on overflow, which is what the mixer wants.
    z = values + _C0
    z = (z ^ (z >> _S30)) * _C1
    z = (z ^ (z >> _S27)) * _C2
    return z ^ (z >> _S31)


_BITS = 64
#: One salt per hash function: hash_i(x) = splitmix64(splitmix64(x) ^ salt_i).
_SALTS = _splitmix64(np.arange(1, _BITS + 1, dtype=np.uint64) * np.uint64(0xD1B54A32D192ED03))


def _feature_hashes(texts: Sequence[str]) -> tuple[list[int], np.ndarray, np.ndarray]:
    """(indices of texts with content, their 3-gram hashes concatenated, each text's count of them)."""
    contents = [content_of(t) for t in texts]
    keyed = [i for i, c in enumerate(contents) if c]
    if not keyed:
        return keyed, np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    key_arrays = []
    for index in keyed:
        content = contents[index].ljust(3, "\0")
        points = np.frombuffer(content.encode("utf-32-le"), dtype="<u4").astype(np.uint64)
        key_arrays.append((points[:-2] << _S42) | (points[1:-1] << _S21) | points[2:])
    lengths = np.array([len(k) for k in key_arrays], dtype=np.int64)
    return keyed, _splitmix64(np.concatenate(key_arrays)), lengths


def _signed(keyed: list[int], packed: np.ndarray, count: int) -> list[int]:
    result = [0] * count
    for index, fingerprint in zip(keyed, packed.view("<u8")[:, 0].tolist(), strict=True):
        fingerprint = fingerprint or 1  # 0 is reserved for "no fingerprint"
        result[index] = fingerprint - (1 << 64) if fingerprint >= 1 << 63 else fingerprint
    return result


def simhash_many(texts: Sequence[str]) -> list[int]:
    """The stored near-duplicate fingerprint (1-bit MinHash) of each text, vectorised over the batch."""
    keyed, hashes, lengths = _feature_hashes(texts)
    if not keyed:
        return [0] * len(texts)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    # Rows of 3-grams x 64 hash functions; each text's minimum per column, then its lowest bit.
    # Long batches are done in slices so the matrix stays a few megabytes.
    minima = np.empty((len(keyed), _BITS), dtype=np.uint64)
    start = 0
    while start < len(keyed):
        stop = start + 1
        while stop < len(keyed) and offsets[stop] + lengths[stop] - offsets[start] <= 32_768:
            stop += 1
        first, last = offsets[start], offsets[stop - 1] + lengths[stop - 1]
        matrix = _splitmix64(hashes[first:last, None] ^ _SALTS[None, :])
        minima[start:stop] = np.minimum.reduceat(matrix, offsets[start:stop] - first, axis=0)
        start = stop
    bits = (minima & np.uint64(1)).astype(np.uint8)
    return _signed(keyed, np.packbits(bits, axis=1, bitorder="little"), len(texts))


def simhash(text: str) -> int:
    """The stored fingerprint of `text` (already normalised); 0 for text without content."""
    return simhash_many([text])[0]


def charikar_simhash_many(texts: Sequence[str]) -> list[int]:
    """Charikar's SimHash over the same features: the fingerprint used before, kept for measurement."""
    keyed, hashes, lengths = _feature_hashes(texts)
    if not keyed:
        return [0] * len(texts)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    # One row of 64 bits per 3-gram; each bit of a fingerprint is the majority vote of its column.
    bits = np.unpackbits(hashes.astype("<u8").view(np.uint8).reshape(-1, 8), axis=1, bitorder="little")
    ones = np.add.reduceat(bits, offsets, axis=0, dtype=np.int64)
    return _signed(keyed, np.packbits(ones * 2 > lengths[:, None], axis=1, bitorder="little"), len(texts))


def hamming(a: int, b: int) -> int:
    """Bits that differ between two fingerprints (signed or unsigned 64-bit integers)."""
    return ((a ^ b) & _MASK64).bit_count()


def is_near_duplicate(a: int, b: int, max_distance: int = NEAR_DUPLICATE_MAX_DISTANCE) -> bool:
    return a != 0 and b != 0 and hamming(a, b) <= max_distance

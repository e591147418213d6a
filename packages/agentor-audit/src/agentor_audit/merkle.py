"""RFC 9162 (Certificate Transparency v2) Merkle tree hashing, proofs and their verification.

leaf = SHA-256(0x00 || data), node = SHA-256(0x01 || left || right), and the
tree over ``n`` leaves splits at the largest power of two smaller than ``n``
(RFC 9162 §2.1.1). Inclusion and consistency proofs follow §2.1.3 and §2.1.4;
the verification algorithms are the ones given there, step by step, so an
auditor can compare them line by line.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Final

HASH_SIZE: Final = 32
EMPTY_ROOT: Final = hashlib.sha256(b"").digest()
"""MTH({}) = SHA-256() (RFC 9162 §2.1.1)."""

_LEAF_PREFIX: Final = b"\x00"
_NODE_PREFIX: Final = b"\x01"

SubtreeHash = Callable[[int, int], bytes]
"""``f(lo, hi)`` = MTH(D[lo:hi]) for the log's leaves ``D``."""


class ProofError(ValueError):
    """A proof was asked for indices the tree does not have."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n`` >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_from_leaf_hashes(leaves: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes, level by level.

    Promoting a lone right-most node unchanged to the next level gives the same
    root as RFC 9162's recursive split; it runs in n - 1 hashes without recursion.
    """
    if not leaves:
        return EMPTY_ROOT
    level = list(leaves)
    sha = hashlib.sha256
    while len(level) > 1:
        paired = [
            sha(_NODE_PREFIX + level[i] + level[i + 1]).digest()
            for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


class Levels:
    """Every level of the tree over ``leaves``, for proofs over a tree held in memory."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.size = len(leaves)
        self._levels: list[list[bytes]] = [list(leaves)]
        sha = hashlib.sha256
        level = self._levels[0]
        while len(level) > 1:
            # Only complete pairs: level k holds the hashes of aligned perfect subtrees of 2**k.
            level = [
                sha(_NODE_PREFIX + level[i] + level[i + 1]).digest()
                for i in range(0, len(level) - 1, 2)
            ]
            self._levels.append(level)

    def perfect(self, level: int, index: int) -> bytes:
        return self._levels[level][index]

    def subtree(self, lo: int, hi: int) -> bytes:
        return subtree_hash(lo, hi, self.perfect)

    def root(self, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        return EMPTY_ROOT if size == 0 else self.subtree(0, size)


def subtree_hash(lo: int, hi: int, perfect: Callable[[int, int], bytes]) -> bytes:
    """MTH(D[lo:hi]) for a range that starts on a boundary of the RFC 9162 split.

    ``perfect(k, i)`` returns the hash of the aligned perfect subtree of 2**k
    leaves starting at ``i * 2**k``. Ranges reached by the RFC's recursion are
    always a perfect aligned subtree or one followed by a shorter right part.
    """
    parts: list[bytes] = []
    while True:
        width = hi - lo
        if width <= 0:
            raise ProofError(f"empty range [{lo}, {hi})")
        if width & (width - 1) == 0 and lo % width == 0:
            parts.append(perfect(width.bit_length() - 1, lo // width))
            break
        k = split_point(width)
        if lo % k:
            raise ProofError(f"range [{lo}, {hi}) is not on a tree boundary")
        parts.append(perfect(k.bit_length() - 1, lo // k))
        lo += k
    result = parts[-1]
    for left in reversed(parts[:-1]):
        result = node_hash(left, result)
    return result


def inclusion_proof(index: int, size: int, subtree: SubtreeHash) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 §2.1.3.1, leaf-side first."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of size {size}")
    path: list[bytes] = []
    lo, hi, m = 0, size, index
    while hi - lo > 1:
        k = split_point(hi - lo)
        if m < k:
            path.append(subtree(lo + k, hi))
            hi = lo + k
        else:
            path.append(subtree(lo, lo + k))
            lo, m = lo + k, m - k
    path.reverse()
    return path


def consistency_proof(old_size: int, new_size: int, subtree: SubtreeHash) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 9162 §2.1.4.1."""
    if not 0 <= old_size <= new_size:
        raise ProofError(f"no consistency proof from size {old_size} to {new_size}")
    if old_size in (0, new_size):
        return []
    proof: list[bytes] = []
    lo, hi, m, complete = 0, new_size, old_size, True
    # SUBPROOF(m, D[lo:hi], b), unrolled; the RFC appends right-side hashes
    # after the recursive part, so collect them and reverse at the end.
    while True:
        n = hi - lo
        if m == n:
            if not complete:
                proof.append(subtree(lo, hi))
            break
        k = split_point(n)
        if m <= k:
            proof.append(subtree(lo + k, hi))
            hi = lo + k
        else:
            proof.append(subtree(lo, lo + k))
            lo, m, complete = lo + k, m - k, False
    proof.reverse()
    return proof


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2, verbatim."""
    if index >= size or index < 0:
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if len(p) != HASH_SIZE or sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while True:
                    fn >>= 1
                    sn >>= 1
                    if fn & 1 or fn == 0:
                        break
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2, verbatim (with the trivial sizes the RFC leaves to the caller)."""
    if old_size < 0 or old_size > new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof
    if not proof or any(len(p) != HASH_SIZE for p in proof):
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        # 1. If first is an exact power of 2, prepend first_hash to the path.
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while True:
                    fn >>= 1
                    sn >>= 1
                    if fn & 1 or fn == 0:
                        break
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0


class Frontier:
    """The compact range of a growing tree: one perfect subtree root per set bit of its size.

    Enough to append and to compute the root at the current size in O(log n)
    without reading any earlier leaf.
    """

    __slots__ = ("_hashes", "size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != size.bit_count():
            raise ValueError(f"a frontier of size {size} holds {size.bit_count()} hashes")
        self.size = size
        self._hashes = list(hashes)

    @property
    def hashes(self) -> tuple[bytes, ...]:
        return tuple(self._hashes)

    def append(
        self, leaf: bytes, completed: Callable[[int, int, bytes], None] | None = None
    ) -> None:
        """Add one leaf hash; ``completed(level, index, hash)`` sees each perfect subtree closed."""
        h = leaf
        size = self.size
        level = 0
        while size & 1:
            h = node_hash(self._hashes.pop(), h)
            size >>= 1
            level += 1
            if completed is not None:
                completed(level, (self.size + 1) // (1 << level) - 1, h)
        self._hashes.append(h)
        self.size += 1

    def root(self) -> bytes:
        if not self._hashes:
            return EMPTY_ROOT
        h = self._hashes[-1]
        for left in reversed(self._hashes[:-1]):
            h = node_hash(left, h)
        return h

    def pack(self) -> bytes:
        return b"".join(self._hashes)

    @classmethod
    def unpack(cls, size: int, packed: bytes) -> Frontier:
        count = size.bit_count()
        if len(packed) != count * HASH_SIZE:
            raise ValueError(f"stored frontier of {len(packed)} bytes does not fit size {size}")
        return cls(size, [packed[i * HASH_SIZE : (i + 1) * HASH_SIZE] for i in range(count)])

"""The labs' random numbers: xoshiro256** seeded from bytes, defined here.

Variants must be byte-identical on every machine and every Python version, so
the labs never use Python's `random` (its algorithms for randrange, choice and
shuffle have changed between versions). This is Blackman and Vigna's
xoshiro256** generator, written out from its published definition, with every
derived operation (a bounded integer, a choice, a shuffle) defined below in
terms of its 64-bit outputs alone.

    rng = Prng.from_bytes(hmac_digest)      # 32 bytes of state
    rng.below(10)                           # 0..9, unbiased
    rng.between(3, 7)                       # 3..7 inclusive
    rng.choice(["a", "b"]); rng.shuffle(items); rng.sample(items, 3)
    rng.child("quiz")                       # an independent stream for one purpose

The state is four 64-bit words; one step:

    result = rotl(s1 * 5, 7) * 9
    t = s1 << 17
    s2 ^= s0;  s3 ^= s1;  s1 ^= s2;  s0 ^= s3;  s2 ^= t;  s3 = rotl(s3, 45)

tests/unit/test_lab_prng.py pins the first outputs for fixed seeds: change
anything here and every student's variant changes with it.
"""

from __future__ import annotations

import hashlib

from ..errors import UsageError

MASK64 = (1 << 64) - 1


def _rotl(value: int, shift: int) -> int:
    return ((value << shift) | (value >> (64 - shift))) & MASK64


class Prng:
    """xoshiro256** over a 256-bit state; never all zero."""

    def __init__(self, state: tuple[int, int, int, int]):
        if not any(state):
            raise UsageError("xoshiro256** state must not be all zero")
        self._s = [word & MASK64 for word in state]

    @classmethod
    def from_bytes(cls, seed: bytes) -> "Prng":
        """A generator whose state is SHA-256(seed) read as four little-endian
        words (a 32-byte HMAC digest passes through a hash all the same, so any
        length of seed works and an all-zero state cannot come out)."""
        digest = hashlib.sha256(b"emu-lab-prng\0" + seed).digest()
        words = tuple(int.from_bytes(digest[i:i + 8], "little") for i in range(0, 32, 8))
        return cls(words if any(words) else (1, 0, 0, 0))

    def child(self, label: str) -> "Prng":
        """An independent stream for one purpose, derived from this generator's
        current state and `label`, without advancing this generator. Adding a
        new parameter under a new label leaves every other stream unchanged."""
        state = b"".join(word.to_bytes(8, "little") for word in self._s)
        return Prng.from_bytes(state + b"\0" + label.encode())

    def next_u64(self) -> int:
        """The next 64-bit output."""
        s = self._s
        result = (_rotl((s[1] * 5) & MASK64, 7) * 9) & MASK64
        t = (s[1] << 17) & MASK64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = _rotl(s[3], 45)
        return result

    def below(self, bound: int) -> int:
        """A uniform integer in [0, bound): the top bits of outputs, rejecting
        those past the last whole multiple of `bound` (no modulo bias)."""
        if bound <= 0:
            raise UsageError(f"below: bound must be positive, got {bound}")
        bits = max(1, (bound - 1).bit_length())
        while True:
            if bits <= 64:
                value = self.next_u64() >> (64 - bits)
            else:
                value = 0
                for _ in range((bits + 63) // 64):
                    value = (value << 64) | self.next_u64()
                value >>= (-bits) % 64
            if value < bound:
                return value

    def between(self, low: int, high: int) -> int:
        """A uniform integer in [low, high], both included."""
        if high < low:
            raise UsageError(f"between: empty range {low}..{high}")
        return low + self.below(high - low + 1)

    def chance(self, numerator: int, denominator: int) -> bool:
        """True with probability numerator/denominator."""
        return self.below(denominator) < numerator

    def choice(self, items):
        """One element of a non-empty sequence."""
        return items[self.below(len(items))]

    def weighted(self, pairs):
        """One value of [(weight, value), ...] with probability weight/total."""
        total = sum(weight for weight, _ in pairs)
        pick = self.below(total)
        for weight, value in pairs:
            if pick < weight:
                return value
            pick -= weight
        raise AssertionError("weighted: unreachable")

    def shuffle(self, items: list) -> list:
        """Shuffle `items` in place (Fisher-Yates from the end) and return it."""
        for i in range(len(items) - 1, 0, -1):
            j = self.below(i + 1)
            items[i], items[j] = items[j], items[i]
        return items

    def sample(self, items, count: int) -> list:
        """`count` distinct elements of `items`, in the order drawn."""
        pool = list(items)
        if count > len(pool):
            raise UsageError(f"sample: {count} from {len(pool)} items")
        for i in range(count):
            j = i + self.below(len(pool) - i)
            pool[i], pool[j] = pool[j], pool[i]
        return pool[:count]

    def bytes(self, length: int) -> bytes:
        """`length` random bytes."""
        out = bytearray()
        while len(out) < length:
            out += self.next_u64().to_bytes(8, "little")
        return bytes(out[:length])

"""Who gets which variant: seeds from the course key, or public self-study seeds.

A student's variant comes from the course key, the lab and the student's id:

    master  = HMAC-SHA256(course key, "emu-lab\\0" + lab + "\\0" + student id)
    handout = HMAC-SHA256(master, "handout")     the parameters and the public tests
    hidden  = HMAC-SHA256(master, "hidden")      the hidden tests

The handout seed is written into the student's folder (emu-lab.json), so
`emu lab check` can run the public tests without the key; the hidden seed
cannot be computed from it (HMAC is one-way), so the hidden tests stay secret
until the course releases them. A grader holding the key recomputes both and
checks that the handout seed a submission carries is the one its id gives.

Without a course key, `--seed N` picks public self-study variant N: the same
derivation with a fixed, published key, so everything (answers included) can
be computed by anyone: `emu lab solve LAB --seed N`.

Student ids are compared after stripping blanks and lower-casing, so
"Alice@Example.edu " and "alice@example.edu" are the same student.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from ..userfiles import read_user_file
from .prng import Prng

PUBLIC_KEY = b"emu-lab public self-study seeds (not a secret)"
MIN_KEY_BYTES = 16
KEY_ENV = "EMU_LAB_KEY"
KEY_FILE_ENV = "EMU_LAB_KEY_FILE"
MAX_PUBLIC_SEED = 10 ** 9


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def normalize_student(student: str) -> str:
    """The id as variants use it; UsageError when it is empty or has a newline."""
    cleaned = student.strip().lower()
    if not cleaned or any(c in cleaned for c in "\n\r\0"):
        raise UsageError(f"student id {student!r} must be one non-empty line")
    return cleaned


@dataclass(frozen=True)
class Variant:
    """One student's (or one public seed's) variant of one lab.

    `hidden_seed` is None when the variant was rebuilt from a handout without
    the course key: the public tests can run, the hidden ones cannot.
    """
    lab: str
    who: str                      # "student alice@example.edu" or "public seed 7"
    handout_seed: bytes
    hidden_seed: bytes | None
    student: str | None = None
    public_seed: int | None = None

    @property
    def id(self) -> str:
        """A short name for the variant, shown on handouts and reports."""
        return self.handout_seed[:4].hex()

    @property
    def has_hidden(self) -> bool:
        return self.hidden_seed is not None

    def stream(self, label: str) -> Prng:
        """The handout's random stream for one purpose (parameters, public tests)."""
        return Prng.from_bytes(self.handout_seed + b"\0" + label.encode())

    def hidden_stream(self, label: str) -> Prng:
        """The hidden tests' random stream for one purpose; UsageError without the key."""
        if self.hidden_seed is None:
            raise UsageError("the hidden tests need the course key (EMU_LAB_KEY_FILE)")
        return Prng.from_bytes(self.hidden_seed + b"\0" + label.encode())

    def marker(self) -> dict:
        """What emu-lab.json records in a handout (no secret in it)."""
        data = {"lab": self.lab, "variant": self.id, "handout_seed": self.handout_seed.hex()}
        if self.student is not None:
            data["student"] = self.student
        if self.public_seed is not None:
            data["seed"] = self.public_seed
        return data


def _from_master(lab: str, who: str, master: bytes, **extra) -> Variant:
    return Variant(lab, who, _hmac(master, "handout"), _hmac(master, "hidden"), **extra)


def student_variant(lab: str, student: str, key: bytes) -> Variant:
    """The variant of `lab` for `student` under the course `key`."""
    student = normalize_student(student)
    master = _hmac(key, f"emu-lab\0{lab}\0{student}")
    return _from_master(lab, f"student {student}", master, student=student)


def public_variant(lab: str, seed: int) -> Variant:
    """Public self-study variant number `seed` (0 .. 10**9)."""
    if not 0 <= seed <= MAX_PUBLIC_SEED:
        raise UsageError(f"public seeds go from 0 to {MAX_PUBLIC_SEED}, got {seed}")
    master = _hmac(PUBLIC_KEY, f"emu-lab\0{lab}\0seed {seed}")
    return _from_master(lab, f"public seed {seed}", master, public_seed=seed)


def handout_variant(marker: dict) -> Variant:
    """The variant recorded in a handout's emu-lab.json, without hidden tests
    (unless it is a public seed, whose hidden tests anyone may compute)."""
    try:
        lab = str(marker["lab"])
        if "seed" in marker:
            return public_variant(lab, int(marker["seed"]))
        seed = bytes.fromhex(str(marker["handout_seed"]))
        student = normalize_student(str(marker["student"]))
    except (KeyError, ValueError, TypeError) as exc:
        raise UsageError(f"emu-lab.json is damaged ({type(exc).__name__}: {exc}); "
                         f"run `emu lab init` again or ask for a new handout") from None
    if len(seed) != 32:
        raise UsageError("emu-lab.json: handout_seed must be 64 hex digits")
    return Variant(lab, f"student {student}", seed, None, student=student)


# -- the course key -------------------------------------------------------------------

def course_key(key_file: str | None = None, required: bool = True) -> bytes | None:
    """The course key from `key_file`, $EMU_LAB_KEY_FILE or $EMU_LAB_KEY.

    Returns None when there is none and `required` is False; otherwise a
    UsageError says how to give one. A key is at least 16 bytes of text
    (64 hex digits from `secrets.token_hex(32)` is what the README suggests).
    """
    path = key_file or os.environ.get(KEY_FILE_ENV)
    if path:
        key = read_user_file(Path(path), "course key file").strip()
    elif os.environ.get(KEY_ENV):
        key = os.environ[KEY_ENV].strip().encode()
    elif required:
        raise UsageError("a course key is needed: --key-file FILE, or EMU_LAB_KEY_FILE / "
                         "EMU_LAB_KEY in the environment (students: use the handout you "
                         "were given, or --seed N for a self-study variant)")
    else:
        return None
    if len(key) < MIN_KEY_BYTES:
        raise UsageError(f"the course key is {len(key)} bytes; it must be at least "
                         f"{MIN_KEY_BYTES} (make one with: python3 -c 'import secrets; "
                         f"print(secrets.token_hex(32))')")
    return key

"""Signed notes (c2sp.org/signed-note), transparency-log checkpoints
(c2sp.org/tlog-checkpoint) and Ed25519 cosignatures (c2sp.org/tlog-cosignature): the
byte formats the audit log, its witnesses and `hub audit verify` share, kept in one
module so signer and verifier cannot disagree on a byte.

    note        = text "\\n" { "— " name " " base64(key ID || signature) "\\n" }
    key ID      = SHA-256(name || "\\n" || type || public key)[:4], big-endian
    vkey        = name "+" hex(key ID) "+" base64(type || public key)
    checkpoint  = origin "\\n" size "\\n" base64(root) "\\n" { extension "\\n" }
    cosignature = key ID || u64 timestamp || Ed25519("cosignature/v1\\ntime <t>\\n" || body)

Type 0x01 signs the note text itself (the log's signature on its checkpoint); type 0x04
is a witness's timestamped cosignature. Parsing follows golang.org/x/mod/sumdb/note
(Open): signatures from unknown keys are ignored, a known key's bad signature rejects
the note, and a note no known key signed is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Protocol

from cryptography.exceptions import InvalidSignature as _BadSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519: Final = 0x01
COSIGNATURE_V1: Final = 0x04
MAX_SIGNATURES: Final = 100
"""As golang.org/x/mod/sumdb/note; the spec asks for at least 16."""
MAX_TIMESTAMP: Final = 2**63 - 1
DASH: Final = "— "
_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")
_KEY_ID = re.compile(r"[0-9a-f]{8}")


class NoteError(ValueError):
    """Why a note, key or checkpoint was refused:

    NoteError
    ├── MalformedNote       not the format (bytes, lines, base64, names)
    ├── MalformedKey        a vkey that does not parse or whose key ID does not match
    ├── InvalidSignature    a known key's signature does not verify
    └── UnverifiedNote      no known key signed it
    """


class MalformedNote(NoteError):
    pass


class MalformedKey(NoteError):
    pass


class InvalidSignature(NoteError):
    def __init__(self, name: str, key_id: int) -> None:
        super().__init__(f"the signature of {name}+{key_id:08x} does not verify")
        self.name = name
        self.key_id = key_id


class UnverifiedNote(NoteError):
    def __init__(self) -> None:
        super().__init__("no trusted key signed the note")


def valid_name(name: str) -> bool:
    """Non-empty, no Unicode space, no '+' (they separate a vkey's parts)."""
    return bool(name) and "+" not in name and not any(ch.isspace() for ch in name)


def b64decode(text: str) -> bytes:
    """Standard base64, canonical only: one encoding per value, so a note re-serialised
    is the note received."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedNote(f"not base64: {text[:40]!r}") from None
    if base64.b64encode(raw).decode() != text:
        raise MalformedNote(f"not canonical base64: {text[:40]!r}")
    return raw


def b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def key_id(name: str, sig_type: int, public_key: bytes) -> int:
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


# -- notes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    name: str
    key_id: int
    signature: bytes
    """Without the key ID."""

    def line(self) -> str:
        return f"{DASH}{self.name} {b64encode(self.key_id.to_bytes(4, 'big') + self.signature)}\n"

    @classmethod
    def parse_line(cls, line: str) -> Signature:
        """One signature line, without its newline."""
        if not line.startswith(DASH):
            raise MalformedNote(f"a signature line starts with '— ': {line[:40]!r}")
        name, _, encoded = line[len(DASH) :].partition(" ")
        if not valid_name(name):
            raise MalformedNote(f"bad key name in signature line: {name[:40]!r}")
        raw = b64decode(encoded)
        if len(raw) < 5:
            raise MalformedNote(f"the signature of {name} is too short")
        return cls(name, int.from_bytes(raw[:4], "big"), raw[4:])


@dataclass(frozen=True)
class Note:
    text: str
    """Ends in a newline; the blank line before the signatures is not part of it."""
    signatures: tuple[Signature, ...]

    def serialize(self) -> bytes:
        return (self.text + "\n" + "".join(s.line() for s in self.signatures)).encode()

    @classmethod
    def parse(cls, message: bytes) -> Note:
        """The syntax only: nothing is verified here (see `open_note`)."""
        try:
            decoded = message.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedNote("a note is UTF-8") from None
        if any(ch < " " and ch != "\n" for ch in decoded):
            raise MalformedNote("a note holds no control characters but newlines")
        split = decoded.rfind("\n\n")
        if split < 0:
            raise MalformedNote("no blank line before the signatures")
        text, block = decoded[: split + 1], decoded[split + 2 :]
        if not block.endswith("\n"):
            raise MalformedNote("a note ends with a newline after its signatures")
        lines = block[:-1].split("\n")
        if len(lines) > MAX_SIGNATURES:
            raise MalformedNote(f"more than {MAX_SIGNATURES} signatures")
        return cls(text, tuple(Signature.parse_line(line) for line in lines))


# -- keys ----------------------------------------------------------------------------------


class Verifier(Protocol):
    """A trusted public key: the (name, key ID) it answers to, and its check."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int: ...

    def verify(self, text: bytes, signature: bytes) -> bool: ...

    def vkey(self) -> str: ...


def _vkey(name: str, sig_type: int, public_key: bytes) -> str:
    material = b64encode(bytes([sig_type]) + public_key)
    return f"{name}+{key_id(name, sig_type, public_key):08x}+{material}"


def _ed25519_ok(public_key: bytes, message: bytes, signature: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (_BadSignature, ValueError):
        return False
    return True


@dataclass(frozen=True)
class Ed25519Verifier:
    """Type 0x01: an Ed25519 signature over the note text (the log's own signature)."""

    name: str
    public_key: bytes

    @property
    def key_id(self) -> int:
        return key_id(self.name, ED25519, self.public_key)

    def verify(self, text: bytes, signature: bytes) -> bool:
        return len(signature) == 64 and _ed25519_ok(self.public_key, text, signature)

    def vkey(self) -> str:
        return _vkey(self.name, ED25519, self.public_key)


def cosignature_message(text: bytes, timestamp: int) -> bytes:
    """What a cosigner signs: a domain-separating header, the time, then the whole
    checkpoint body (extension lines included)."""
    return b"cosignature/v1\ntime %d\n" % timestamp + text


@dataclass(frozen=True)
class CosignatureVerifier:
    """Type 0x04: a witness's timestamped cosignature (c2sp.org/tlog-cosignature)."""

    name: str
    public_key: bytes

    @property
    def key_id(self) -> int:
        return key_id(self.name, COSIGNATURE_V1, self.public_key)

    def verify(self, text: bytes, signature: bytes) -> bool:
        if len(signature) != 8 + 64:
            return False
        (timestamp,) = struct.unpack(">Q", signature[:8])
        if timestamp > MAX_TIMESTAMP:
            return False
        return _ed25519_ok(self.public_key, cosignature_message(text, timestamp), signature[8:])

    def vkey(self) -> str:
        return _vkey(self.name, COSIGNATURE_V1, self.public_key)


def cosignature_time(signature: Signature) -> int:
    """The POSIX time a cosignature says it was made (verify it first)."""
    if len(signature.signature) != 8 + 64:
        raise MalformedNote(f"the cosignature of {signature.name} is not 72 bytes")
    return int.from_bytes(signature.signature[:8], "big")


def parse_vkey(vkey: str) -> Ed25519Verifier | CosignatureVerifier:
    """A verifier key `<name>+<hex key ID>+<base64(type || key)>`; the key ID must be the
    one derived from the rest."""
    name, _, rest = vkey.partition("+")
    hex_id, _, encoded = rest.partition("+")
    if not valid_name(name) or not _KEY_ID.fullmatch(hex_id):
        raise MalformedKey(f"a vkey is <name>+<8 lowercase hex digits>+<base64>: {vkey[:60]!r}")
    try:
        raw = b64decode(encoded)
    except MalformedNote as error:
        raise MalformedKey(f"vkey {name}: {error}") from None
    if len(raw) != 33 or raw[0] not in (ED25519, COSIGNATURE_V1):
        raise MalformedKey(f"vkey {name} is not an Ed25519 key of type 0x01 or 0x04")
    verifier = (Ed25519Verifier if raw[0] == ED25519 else CosignatureVerifier)(name, raw[1:])
    if f"{verifier.key_id:08x}" != hex_id:
        raise MalformedKey(f"vkey {name}: its key ID does not match its key")
    return verifier


@dataclass(frozen=True)
class Ed25519Signer:
    """Signs note texts as type 0x01 (the log's checkpoint key)."""

    name: str
    private_key: Ed25519PrivateKey

    def __post_init__(self) -> None:
        if not valid_name(self.name):
            raise MalformedKey(f"a key name has no spaces and no '+': {self.name!r}")

    def verifier(self) -> Ed25519Verifier:
        return Ed25519Verifier(self.name, raw_public_key(self.private_key.public_key()))

    def sign(self, text: bytes) -> Signature:
        return Signature(self.name, self.verifier().key_id, self.private_key.sign(text))


@dataclass(frozen=True)
class CosignatureSigner:
    """Cosigns checkpoint bodies as type 0x04 (a witness's key)."""

    name: str
    private_key: Ed25519PrivateKey

    def __post_init__(self) -> None:
        if not valid_name(self.name):
            raise MalformedKey(f"a key name has no spaces and no '+': {self.name!r}")

    def verifier(self) -> CosignatureVerifier:
        return CosignatureVerifier(self.name, raw_public_key(self.private_key.public_key()))

    def sign(self, text: bytes, timestamp: int) -> Signature:
        if not 0 < timestamp <= MAX_TIMESTAMP:
            raise ValueError(f"a cosignature's time is a positive POSIX time, not {timestamp}")
        signed = self.private_key.sign(cosignature_message(text, timestamp))
        return Signature(self.name, self.verifier().key_id, struct.pack(">Q", timestamp) + signed)


# -- opening -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Opened:
    note: Note
    verified: tuple[Signature, ...]
    """By trusted keys, one per key (repeats dropped)."""
    unverified: tuple[Signature, ...]
    """By keys not trusted here (other witnesses, rotated keys): kept, not believed."""

    @property
    def text(self) -> str:
        return self.note.text

    def verified_by(self, name: str) -> Signature | None:
        return next((s for s in self.verified if s.name == name), None)


def open_note(message: bytes | Note, trusted: Iterable[Verifier]) -> Opened:
    """Parses the note and checks every signature by a trusted key; refuses it when one of
    them fails or none is there."""
    note = message if isinstance(message, Note) else Note.parse(message)
    keys: dict[tuple[str, int], Verifier | None] = {}
    for verifier in trusted:
        slot = (verifier.name, verifier.key_id)
        keys[slot] = None if slot in keys else verifier  # two keys on one slot: neither
    text = note.text.encode()
    verified: dict[tuple[str, int], Signature] = {}
    unverified: list[Signature] = []
    for signature in note.signatures:
        slot = (signature.name, signature.key_id)
        if slot not in keys:
            if signature not in unverified:
                unverified.append(signature)
            continue
        known = keys[slot]
        if known is None:
            raise MalformedKey(f"two trusted keys share {slot[0]}+{slot[1]:08x}")
        if slot in verified:
            continue
        if not known.verify(text, signature.signature):
            raise InvalidSignature(*slot)
        verified[slot] = signature
    if not verified:
        raise UnverifiedNote()
    return Opened(note, tuple(verified.values()), tuple(unverified))


# -- checkpoints ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head, as the text of a signed note."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise MalformedNote("a checkpoint's origin is one non-empty line")
        if not 0 <= self.size < 2**64:
            raise MalformedNote(f"a tree size is an unsigned 64-bit number, not {self.size}")
        if len(self.root_hash) != 32:
            raise MalformedNote("a checkpoint's root hash is 32 bytes")
        if any(not line or "\n" in line for line in self.extensions):
            raise MalformedNote("extension lines are non-empty single lines")

    def body(self) -> str:
        lines = [self.origin, str(self.size), b64encode(self.root_hash), *self.extensions]
        return "".join(f"{line}\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        if not text.endswith("\n"):
            raise MalformedNote("a checkpoint ends with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise MalformedNote("a checkpoint has an origin, a size and a root hash")
        origin, size, root, *extensions = lines
        if not _SIZE.fullmatch(size):
            raise MalformedNote(f"a tree size is a decimal with no leading zero: {size[:30]!r}")
        return cls(origin, int(size), b64decode(root), tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signer: Ed25519Signer) -> Note:
    body = checkpoint.body()
    return Note(body, (signer.sign(body.encode()),))


def open_checkpoint(
    message: bytes | Note, trusted: Iterable[Verifier]
) -> tuple[Checkpoint, Opened]:
    """A signed checkpoint: its body parsed, its signatures checked as `open_note` does."""
    opened = open_note(message, trusted)
    return Checkpoint.parse(opened.text), opened


def with_signatures(note: Note, extra: Iterable[Signature]) -> Note:
    """The note with more signature lines (a witness's cosignatures), each key once."""
    present = {(s.name, s.key_id) for s in note.signatures}
    added = []
    for signature in extra:
        if (signature.name, signature.key_id) not in present:
            present.add((signature.name, signature.key_id))
            added.append(signature)
    return Note(note.text, (*note.signatures, *added))

"""Signed notes, checkpoints and cosignatures against vectors published by the spec and
by other implementations (real checkpoints of public logs, cosigned by public witnesses),
then every way a note or key can be malformed."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.note import (
    Checkpoint,
    CosignatureSigner,
    CosignatureVerifier,
    Ed25519Signer,
    Ed25519Verifier,
    InvalidSignature,
    MalformedKey,
    MalformedNote,
    Note,
    UnverifiedNote,
    cosignature_time,
    open_checkpoint,
    open_note,
    parse_vkey,
    sign_checkpoint,
    with_signatures,
)

# c2sp.org/signed-note, "Verifier keys / Example" (C2SP/C2SP signed-note.md).
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n"
    "— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
).encode()

# golang.org/x/mod, sumdb/note/note_test.go (TestSign, TestOpen): a signer key, the
# signature it makes (Ed25519 is deterministic) and a second verifier key.
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
PETER_SIG = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
ENOCH_SIG = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"

# A real checkpoint of the Go checksum database with its public key, from
# github.com/FiloSottile/litetlog, cmd/litewitness/testdata/sumdb.txt.
SUMDB_VKEY = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
SUMDB_CHECKPOINT = (
    "go.sum database tree\n35225469\nvt5T6GaLCXvyHFl9VUvvItR43XZxfLgftEcTyO3eJCQ=\n\n"
    "— sum.golang.org Az3grpukl5AXaVfYkLiDGORx/DN2nlcS5kZHR5uYOBV2KA2HgXpD+gu9HHONebHLAyaKbbTM75QTtPydhKCExixSfwQ=\n"
).encode()

# A real CT log checkpoint with its Ed25519 note key, cosigned (cosignature/v1) by public
# witnesses, one of whose keys is known, from github.com/florolf/tlog-scales,
# tests/test_signing.py (TestCheckpointSigning).
ARCHE_VKEY = (
    "arche2025h1.staging.ct.transparency.dev+ba2f06c0+AU0vHmlGCS/PdN8b2OaGmKprLI8HKM+dJ472xgFYh15f"
)
REMORA_VKEY = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"
ARCHE_CHECKPOINT = """arche2025h1.staging.ct.transparency.dev
1432088532
U7WM79jrzyhGZ5/GUBTpM7NzwdyfFx61t3RovgcC4Ro=

— arche2025h1.staging.ct.transparency.dev zTM8sQAAAZ5W0WdjBAMARjBEAiBjW5IQf9pvsYLfQFX6hoGREPMHbdQ3urbllzalApkptQIgIpwtEroeW2BXaHAI4kJXFbon5Ch9MNL5zRNZ55lvGt0=
— arche2025h1.staging.ct.transparency.dev ui8GwCF1+kWqZrxGdhj4aX3gcw7XUlXQQabg/27lefwhUkzbC3NygNI75MdhL1bfTW9g8Ei59RA23oHP7Ry1k3ZFWwQ=
— transparency.dev/DEV:witness-little-garden 2AQqhwAAAABqEiEgzgFIqqhbUoDwjMWE6UP8nd8/KYTzwZ2rhIgcqoXHAwVkjZr4AscylP3v7sEodkRAErumC2q44vdgJY096st5BQ==
— witness1.smartit.nu/witness1 pIyCDwAAAABqEiEghIp82KWebrw7/oHQwlTAm3g2RKS4+eebl8eO0WH+/iEcxZ75W3u5hNI7TOQtmJbqmNWVuE0tgh0XwzdZsDsUAQ==
— remora.n621.de 2net5wAAAABqEiEgPlfF3V06o0Y+fHM+J5J9s27wgxxcOVSpZ/2g/KSiXCg9DEZI+aVCIobWX9sXTynk5XeU/zZ0WBxtqB0DrAWfBw==
— witness.stagemole.eu Z/euoAAAAABqEiEgw0i+7g2ENfDAWHmtRzCfKTHSDwYDJA2NmKeGi9Y8FtEyOUvVr+AJmIY/2TUFucgKi7lI7cUiOvKFYe/TmN9DAg==
""".encode()


def _peter_signer() -> Ed25519Signer:
    typed_seed = base64.b64decode(PETER_SKEY.split("+", 4)[4])
    assert typed_seed[0] == 0x01
    return Ed25519Signer("PeterNeumann", Ed25519PrivateKey.from_private_bytes(typed_seed[1:]))


# -- published vectors ---------------------------------------------------------------------


def test_the_spec_example_verifies() -> None:
    verifier = parse_vkey(SPEC_VKEY)
    assert isinstance(verifier, Ed25519Verifier)
    assert (verifier.name, verifier.key_id) == ("example.com/foo", 0x530D903A)
    assert verifier.vkey() == SPEC_VKEY
    opened = open_note(SPEC_NOTE, [verifier])
    assert opened.text == "This is an example message.\n"
    assert opened.note.serialize() == SPEC_NOTE


def test_signing_reproduces_the_go_signature() -> None:
    signer = _peter_signer()
    assert signer.verifier().vkey() == PETER_VKEY
    assert signer.sign(GO_TEXT.encode()).line() == PETER_SIG


def test_unknown_keys_are_kept_but_not_believed() -> None:
    message = (GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG).encode()
    opened = open_note(message, [parse_vkey(PETER_VKEY)])
    assert [s.name for s in opened.verified] == ["PeterNeumann"]
    assert [s.name for s in opened.unverified] == ["EnochRoot"]
    both = open_note(message, [parse_vkey(PETER_VKEY), parse_vkey(ENOCH_VKEY)])
    assert [s.name for s in both.verified] == ["PeterNeumann", "EnochRoot"]
    with pytest.raises(UnverifiedNote):
        open_note(message, [])


def test_a_trusted_keys_bad_signature_rejects_the_note() -> None:
    forged = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(InvalidSignature, match=r"PeterNeumann\+c74f20a3"):
        open_note((GO_TEXT + "\n" + forged).encode(), [parse_vkey(PETER_VKEY)])
    edited = GO_TEXT.replace("problem,", "problems,")
    with pytest.raises(InvalidSignature):
        open_note((edited + "\n" + PETER_SIG).encode(), [parse_vkey(PETER_VKEY)])


def test_a_real_sumdb_checkpoint() -> None:
    checkpoint, opened = open_checkpoint(SUMDB_CHECKPOINT, [parse_vkey(SUMDB_VKEY)])
    assert (checkpoint.origin, checkpoint.size) == ("go.sum database tree", 35225469)
    assert checkpoint.body() == opened.text


def test_a_real_witness_cosignature() -> None:
    log, witness = parse_vkey(ARCHE_VKEY), parse_vkey(REMORA_VKEY)
    assert isinstance(witness, CosignatureVerifier)
    checkpoint, opened = open_checkpoint(ARCHE_CHECKPOINT, [log, witness])
    assert checkpoint.size == 1432088532
    cosignature = opened.verified_by("remora.n621.de")
    assert cosignature is not None
    assert cosignature_time(cosignature) == 0x6A122120
    assert len(opened.unverified) == 4  # an RFC 6962 signature and three other witnesses
    altered = ARCHE_CHECKPOINT.replace(b"1432088532", b"1432088533")
    with pytest.raises(InvalidSignature):
        open_note(altered, [witness])


# -- our signers ---------------------------------------------------------------------------


def test_a_cosignature_covers_the_body_and_its_time() -> None:
    signer = CosignatureSigner("witness.example/w1", Ed25519PrivateKey.generate())
    verifier = signer.verifier()
    assert parse_vkey(verifier.vkey()) == verifier
    body = Checkpoint("hub.example/audit", 3, bytes(32), ("ext",)).body().encode()
    cosignature = signer.sign(body, 1_700_000_000)
    assert verifier.verify(body, cosignature.signature)
    assert cosignature_time(cosignature) == 1_700_000_000
    assert not verifier.verify(body.replace(b"ext", b"exu"), cosignature.signature)
    later = (1_700_000_001).to_bytes(8, "big") + cosignature.signature[8:]
    assert not verifier.verify(body, later)
    as_note = Ed25519Verifier(verifier.name, verifier.public_key)  # same key, type 0x01
    assert as_note.key_id != verifier.key_id
    with pytest.raises(ValueError, match="positive POSIX time"):
        signer.sign(body, 0)


def test_a_signed_checkpoint_with_cosignatures_round_trips() -> None:
    log = Ed25519Signer("hub.example/audit", Ed25519PrivateKey.generate())
    witness = CosignatureSigner("witness.example/w1", Ed25519PrivateKey.generate())
    checkpoint = Checkpoint("hub.example/audit", 12, bytes(range(32)))
    signed = sign_checkpoint(checkpoint, log)
    cosigned = with_signatures(signed, [witness.sign(signed.text.encode(), 1_700_000_000)] * 2)
    assert len(cosigned.signatures) == 2
    parsed, opened = open_checkpoint(cosigned.serialize(), [log.verifier(), witness.verifier()])
    assert parsed == checkpoint
    assert [s.name for s in opened.verified] == ["hub.example/audit", "witness.example/w1"]


# -- malformed input -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        GO_TEXT,
        GO_TEXT + "\n",
        GO_TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + GO_TEXT + "\n" + PETER_SIG,
        GO_TEXT
        + "\n"
        + "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
        GO_TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        GO_TEXT + "\n" + "— PeterNeumann AAAA\n",
        GO_TEXT + "\n" + "— PeterNeumann x08go/ZJ!!\n",
        GO_TEXT
        + "\n"
        + "— a+b x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
        GO_TEXT + "\n" + PETER_SIG * 101,
    ],
)  # the first six are golang.org/x/mod's TestOpen bad messages
def test_malformed_notes_are_refused(message: str) -> None:
    with pytest.raises(MalformedNote):
        open_note(message.encode(), [parse_vkey(PETER_VKEY)])


def test_a_note_is_utf8() -> None:
    with pytest.raises(MalformedNote, match="UTF-8"):
        Note.parse(b"\xff" + (GO_TEXT + "\n" + PETER_SIG).encode())


@pytest.mark.parametrize(
    "vkey",
    [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong key ID
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # not lowercase
        "PeterNeumann+c74f20a3",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T",
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # unknown type
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "",
    ],
)
def test_malformed_vkeys_are_refused(vkey: str) -> None:
    with pytest.raises(MalformedKey):
        parse_vkey(vkey)


def test_two_trusted_keys_on_one_name_and_id_are_refused() -> None:
    peter = parse_vkey(PETER_VKEY)
    with pytest.raises(MalformedKey, match="share"):
        open_note((GO_TEXT + "\n" + PETER_SIG).encode(), [peter, peter])


@pytest.mark.parametrize(
    "text",
    [
        "origin\n5\n",
        "origin\n05\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "origin\n-1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "origin\n5\nAAAA\n",
        "\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "origin\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n",
        "origin\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "origin\n18446744073709551616\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
    ],
)
def test_malformed_checkpoints_are_refused(text: str) -> None:
    with pytest.raises(MalformedNote):
        Checkpoint.parse(text)


def test_a_checkpoint_keeps_its_extension_lines() -> None:
    text = "origin\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\nextension one\n"
    checkpoint = Checkpoint.parse(text)
    assert checkpoint.extensions == ("extension one",)
    assert checkpoint.body() == text

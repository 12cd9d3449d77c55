"""C2SP checkpoints and signed notes, including published interoperability vectors."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from greencircle.audit.algorithms import ED25519
from greencircle.audit.checkpoint import (
    EM_DASH,
    CheckpointBody,
    format_checkpoint,
    format_signer_key,
    format_verifier_key,
    key_id,
    open_note,
    parse_checkpoint,
    parse_note,
    parse_signer_key,
    parse_verifier_key,
    sign_note,
    signature_line,
    verify_note,
)
from greencircle.audit.errors import (
    AlgorithmError,
    CheckpointError,
    NoteFormatError,
    NoteSignatureError,
)
from greencircle.audit.merkle import MemoryTree, leaf_hash

# golang.org/x/mod, sumdb/note/note_test.go (TestNewSigner, TestSign, TestOpen): a signer
# key, its verifier key, the signed text and the exact signed notes. Ed25519 is
# deterministic, so signing with the published seed must reproduce the note byte for byte.
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    f"{EM_DASH} PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    f"{EM_DASH} EnochRoot "
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
)

# C2SP signed-note.md at commit d4c16da5e7687a016619074e78dad84b2c7238cc, "Example".
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n"
    f"{EM_DASH} example.com/foo "
    "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)

ORIGIN = "greencircle.example/audit"


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


@pytest.fixture(scope="module")
def signed(key: Ed25519PrivateKey) -> str:
    tree = MemoryTree(leaf_hash(bytes([i])) for i in range(7))
    return sign_note(format_checkpoint(ORIGIN, 7, tree.root()), ORIGIN, key)


# --------------------------------------------------------------------------- vectors


def test_go_sign_vector_reproduced_exactly() -> None:
    signer = parse_signer_key(GO_SKEY)
    assert signer.name == "PeterNeumann"
    assert signer.key_id == bytes.fromhex("c74f20a3")
    assert sign_note(GO_TEXT, "PeterNeumann", signer.private_key) == GO_TEXT + "\n" + PETER_SIG
    assert format_signer_key("PeterNeumann", signer.private_key) == GO_SKEY
    public = ED25519.public_key_of(signer.private_key)
    assert format_verifier_key("PeterNeumann", public) == GO_VKEY
    assert key_id("PeterNeumann", public) == bytes.fromhex("c74f20a3")


def test_go_open_vector() -> None:
    peter, enoch = parse_verifier_key(GO_VKEY), parse_verifier_key(ENOCH_VKEY)
    assert enoch.key_id == bytes.fromhex("af0cfe78")
    note = GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG
    assert verify_note(note, peter.name, peter.public_key) == GO_TEXT
    assert verify_note(note, enoch.name, enoch.public_key) == GO_TEXT
    parsed = parse_note(note)
    assert [(s.name, s.key_id.hex()) for s in parsed.signatures] == [
        ("PeterNeumann", "c74f20a3"),
        ("EnochRoot", "af0cfe78"),
    ]
    # TestOpen "Invalid signature": four characters spliced into Peter's signature.
    spliced = GO_TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(NoteSignatureError):
        verify_note(spliced, peter.name, peter.public_key)
    # A broken signature from an unknown key is ignored.
    broken_enoch = ENOCH_SIG[:60] + "ABCD" + ENOCH_SIG[60:]
    assert verify_note(GO_TEXT + "\n" + PETER_SIG + broken_enoch, peter.name, peter.public_key)


@pytest.mark.parametrize(
    "msg",
    [
        # TestOpen's "Invalid encoded message syntax" list.
        GO_TEXT,
        GO_TEXT + "\n",
        GO_TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + GO_TEXT + "\n" + PETER_SIG,
        GO_TEXT + "\n" + f"{EM_DASH} Bad Name " + PETER_SIG.split(" ")[2],
        GO_TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        GO_TEXT + "\n" + PETER_SIG * 101,
    ],
)
def test_go_malformed_notes(msg: str) -> None:
    peter = parse_verifier_key(GO_VKEY)
    with pytest.raises(NoteFormatError):
        verify_note(msg, peter.name, peter.public_key)
    with pytest.raises(NoteFormatError):
        verify_note(b"\xff" + msg.encode(), peter.name, peter.public_key)


def test_go_mangled_verifier_keys_rejected() -> None:
    # TestNewVerifier: every proper substring and every single-byte increment fails.
    for i in range(len(GO_VKEY) + 1):
        for j in range(i + 1, len(GO_VKEY) + 1):
            if (i, j) != (0, len(GO_VKEY)):
                with pytest.raises(NoteFormatError):
                    parse_verifier_key(GO_VKEY[i:j])
    for i in range(len(GO_VKEY)):
        mangled = GO_VKEY[:i] + chr(ord(GO_VKEY[i]) + 1) + GO_VKEY[i + 1 :]
        with pytest.raises(NoteFormatError):
            parse_verifier_key(mangled)
    # Wrong-length key and unknown algorithm, each with an adjusted key hash.
    for bad in (
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ):
        with pytest.raises(NoteFormatError):
            parse_verifier_key(bad)


def test_c2sp_spec_example() -> None:
    vkey = parse_verifier_key(SPEC_VKEY)
    assert vkey.name == "example.com/foo"
    assert vkey.key_id == bytes.fromhex("530d903a")
    assert vkey.public_key == bytes.fromhex(
        "e932791ae6e7a840a46164c904786426d5e7821dd8b29a00d61cae72afdd4da4"
    )
    assert key_id(vkey.name, vkey.public_key) == vkey.key_id
    assert verify_note(SPEC_NOTE, vkey.name, vkey.public_key) == "This is an example message.\n"


# --------------------------------------------------------------------------- checkpoints


def test_format_and_parse_checkpoint() -> None:
    root = bytes(range(32))
    body = format_checkpoint(ORIGIN, 20852163, root)
    assert body == f"{ORIGIN}\n20852163\n{base64.b64encode(root).decode()}\n"
    assert parse_checkpoint(body) == CheckpointBody(ORIGIN, 20852163, root)
    ext = format_checkpoint(ORIGIN, 0, root, extensions=["Timestamp: 1"])
    assert parse_checkpoint(ext).extensions == ("Timestamp: 1",)
    assert parse_checkpoint(ext).to_text() == ext


@settings(max_examples=100, deadline=None)
@given(
    origin=st.text(
        st.characters(min_codepoint=32, categories=("L", "M", "N", "P", "S", "Zs")),
        min_size=1,
        max_size=40,
    ),
    size=st.integers(0, 2**64 - 1),
    root=st.binary(min_size=32, max_size=32),
)
def test_checkpoint_round_trip(origin: str, size: int, root: bytes) -> None:
    body = CheckpointBody(origin, size, root)
    assert parse_checkpoint(body.to_text()) == body


@pytest.mark.parametrize(
    "body",
    [
        "",
        "origin\n5\n",
        "origin\n5\nAAAA\n",  # root too short
        f"origin\n05\n{base64.b64encode(bytes(32)).decode()}\n",  # leading zero
        f"origin\n-5\n{base64.b64encode(bytes(32)).decode()}\n",
        f"origin\n+5\n{base64.b64encode(bytes(32)).decode()}\n",
        f"origin\n 5\n{base64.b64encode(bytes(32)).decode()}\n",
        f"origin\n{2**64}\n{base64.b64encode(bytes(32)).decode()}\n",
        f"origin\n5\n{base64.b64encode(bytes(32)).decode()}",  # no final newline
        f"\n5\n{base64.b64encode(bytes(32)).decode()}\n",  # empty origin
        f"origin\n5\n{base64.b64encode(bytes(32)).decode()}\n\n",  # empty extension
        f"origin\n5\n{base64.b64encode(bytes(32)).decode()[:-1]}\n",  # no padding
        f"origin\n5\n{base64.b64encode(bytes(32)).decode()}\x00\n",
        "origin\n5\n" + "A" * 43 + "B=\n",  # non-canonical base64
    ],
)
def test_parse_checkpoint_rejects(body: str) -> None:
    with pytest.raises(NoteFormatError):
        parse_checkpoint(body)


@pytest.mark.parametrize(
    ("origin", "size", "root"),
    [("", 1, bytes(32)), ("a\nb", 1, bytes(32)), ("o", -1, bytes(32)), ("o", 1, bytes(31))],
)
def test_format_checkpoint_rejects(origin: str, size: int, root: bytes) -> None:
    with pytest.raises(NoteFormatError):
        format_checkpoint(origin, size, root)
    with pytest.raises(NoteFormatError):
        format_checkpoint("o", 1, bytes(32), extensions=[""])


def test_sign_open_round_trip(key: Ed25519PrivateKey, signed: str) -> None:
    public = key.public_key()
    body = open_note(signed, ORIGIN, public, origin=ORIGIN)
    assert body.size == 7
    assert body.root_hash == MemoryTree(leaf_hash(bytes([i])) for i in range(7)).root()
    raw = ED25519.public_key_bytes(public)
    assert open_note(signed.encode(), ORIGIN, raw) == body
    _text, sig_line = signed.split("\n\n")
    assert sig_line.startswith(f"{EM_DASH} {ORIGIN} ")
    sig = base64.b64decode(sig_line.split(" ")[2])
    assert sig[:4] == key_id(ORIGIN, public)
    assert len(sig) == 68


def test_tampered_body_detected(key: Ed25519PrivateKey, signed: str) -> None:
    tampered = signed.replace("\n7\n", "\n8\n", 1)
    assert tampered != signed
    with pytest.raises(NoteSignatureError):
        open_note(tampered, ORIGIN, key.public_key())


def test_tampered_signature_detected(key: Ed25519PrivateKey, signed: str) -> None:
    text, line = signed.split("\n\n")
    blob = bytearray(base64.b64decode(line.split(" ")[2]))
    for position in (10, 40, 67):  # inside the signature, after the key ID
        bad = bytearray(blob)
        bad[position] ^= 1
        forged = f"{text}\n\n{EM_DASH} {ORIGIN} {base64.b64encode(bytes(bad)).decode()}\n"
        with pytest.raises(NoteSignatureError):
            open_note(forged, ORIGIN, key.public_key())
    truncated = f"{text}\n\n{EM_DASH} {ORIGIN} {base64.b64encode(bytes(blob[:-1])).decode()}\n"
    with pytest.raises(NoteSignatureError):
        open_note(truncated, ORIGIN, key.public_key())


def test_wrong_key_detected(signed: str) -> None:
    other = Ed25519PrivateKey.from_private_bytes(bytes(32)).public_key()
    with pytest.raises(NoteSignatureError):
        open_note(signed, ORIGIN, other)


def test_wrong_key_name_detected(key: Ed25519PrivateKey, signed: str) -> None:
    with pytest.raises(NoteSignatureError):
        open_note(signed, "greencircle.example/other", key.public_key())
    # Renaming the signature line changes the expected key ID, so it fails too.
    renamed = signed.replace(f"{EM_DASH} {ORIGIN} ", f"{EM_DASH} impostor.example ")
    with pytest.raises(NoteSignatureError):
        open_note(renamed, "impostor.example", key.public_key())


def test_same_key_id_wrong_signature_with_colliding_line_rejects_note(
    key: Ed25519PrivateKey, signed: str
) -> None:
    # A second line claiming the trusted key whose signature fails rejects the whole note.
    _text, line = signed.split("\n\n")
    blob = bytearray(base64.b64decode(line.split(" ")[2]))
    blob[20] ^= 0xFF
    extra = f"{EM_DASH} {ORIGIN} {base64.b64encode(bytes(blob)).decode()}\n"
    with pytest.raises(NoteSignatureError):
        open_note(signed + extra, ORIGIN, key.public_key())


def test_origin_pinning_and_cosignatures(key: Ed25519PrivateKey, signed: str) -> None:
    with pytest.raises(NoteFormatError):
        open_note(signed, ORIGIN, key.public_key(), origin="other.example/log")
    witness = Ed25519PrivateKey.from_private_bytes(bytes([7]) * 32)
    text = parse_note(signed).text
    cosigned = signed + signature_line(text, "witness.example", witness)
    assert open_note(cosigned, ORIGIN, key.public_key()).size == 7
    assert open_note(cosigned, "witness.example", witness.public_key()).size == 7


def test_bad_inputs(key: Ed25519PrivateKey) -> None:
    with pytest.raises(NoteFormatError):
        sign_note("no newline", ORIGIN, key)
    with pytest.raises(NoteFormatError):
        sign_note("text\n", "bad name", key)
    with pytest.raises(NoteFormatError):
        sign_note("text\n", "a+b", key)
    with pytest.raises(NoteFormatError):
        sign_note("tab\there\n", ORIGIN, key)
    with pytest.raises(TypeError):
        sign_note("text\n", ORIGIN, object())
    with pytest.raises(AlgorithmError):
        sign_note("text\n", ORIGIN, key, algorithm="sm2")
    with pytest.raises(NoteSignatureError):
        verify_note("text\n\n" + PETER_SIG, ORIGIN, key.public_key())
    # A valid note whose text is not a checkpoint.
    with pytest.raises(NoteFormatError):
        open_note(sign_note("just text\n", ORIGIN, key), ORIGIN, key.public_key())
    assert issubclass(NoteSignatureError, CheckpointError)
    assert issubclass(NoteFormatError, CheckpointError)
    assert issubclass(CheckpointError, ValueError)


def test_signer_key_round_trip(key: Ed25519PrivateKey) -> None:
    skey = format_signer_key(ORIGIN, key)
    parsed = parse_signer_key(skey)
    assert parsed.name == ORIGIN
    assert format_verifier_key(ORIGIN, key.public_key()).startswith(
        f"{ORIGIN}+{parsed.key_id.hex()}+"
    )
    note = sign_note("hello\n", ORIGIN, parsed.private_key)
    assert note == sign_note("hello\n", ORIGIN, key)
    with pytest.raises(NoteFormatError):
        parse_signer_key(skey[len("PRIVATE+KEY+") :])
    with pytest.raises(NoteFormatError):
        parse_signer_key(skey.replace(parsed.key_id.hex(), "00000000"))

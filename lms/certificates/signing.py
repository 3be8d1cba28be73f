"""The installation's Ed25519 keys, and signing and verifying a certificate's JSON document.

What is signed: the document with its ``proof`` but without ``proof.signature``, serialised
canonically (keys sorted, no spaces, UTF-8, strings in NFC). Signing the proof's options too
(key id, created) means none of them can be changed either. Verifying needs only this module,
the document and the published keys (``/.well-known/lang-so-keys.json``): it works offline.

Keys live in ``<instance>/certificate_keys/`` (or CERTIFICATE_KEYS_DIR): ``keys.json`` lists every
public key by id with its creation and retirement time; ``<key id>.pem`` is the active private
key, mode 0600. Rotation retires the old key (its public half stays, so old documents still
verify) and deletes its private half.
"""

import base64
import binascii
import fcntl
import hashlib
import json
import os
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

KEYS_FILE = "keys.json"
PROOF_TYPE = "LangSoEd25519Signature2026"
CANONICALIZATION = "json-sorted-keys-compact-utf8-nfc"


class SigningError(Exception):
    """The keys cannot be read or written."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not a string")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _nfc(value):
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        return {_nfc(k): _nfc(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nfc(v) for v in value]
    return value


def canonical_bytes(document: dict) -> bytes:
    """Serialise a JSON document the one way both signer and verifier agree on."""
    return json.dumps(_nfc(document), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def _signing_input(document: dict) -> bytes:
    unsigned = {k: v for k, v in document.items() if k != "proof"}
    proof = {k: v for k, v in (document.get("proof") or {}).items() if k != "signature"}
    if proof:
        unsigned["proof"] = proof
    return canonical_bytes(unsigned)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# --- Keys ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActiveKey:
    kid: str
    private_key: Ed25519PrivateKey


class KeyRing:
    """The key files in one folder."""

    def __init__(self, folder: Path | str):
        self.folder = Path(folder)

    @property
    def _keys_file(self) -> Path:
        return self.folder / KEYS_FILE

    @contextmanager
    def _locked(self):
        # Two workers starting at once must not each create a different "first" key.
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(self.folder / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read(self) -> dict:
        try:
            return json.loads(self._keys_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"active": None, "keys": {}}
        except (OSError, ValueError) as exc:
            raise SigningError(f"cannot read {self._keys_file}: {exc}") from exc

    def _write(self, registry: dict) -> None:
        temp = self._keys_file.with_suffix(".tmp")
        temp.write_text(json.dumps(registry, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(temp, self._keys_file)

    def _new_key(self, registry: dict, now: datetime) -> str:
        private_key = Ed25519PrivateKey.generate()
        raw_public = private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        kid = f"{now:%Y%m%d}-{hashlib.sha256(raw_public).hexdigest()[:12]}"
        pem = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
        fd = os.open(self.folder / f"{kid}.pem", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        registry["keys"][kid] = {"public_key": b64url(raw_public), "created": _iso(now), "retired": None}
        registry["active"] = kid
        return kid

    def ensure(self) -> str:
        """Create the first key pair if there is none; return the active key id."""
        registry = self._read()
        if registry.get("active"):
            return registry["active"]
        with self._locked():
            registry = self._read()
            if not registry.get("active"):
                self._new_key(registry, datetime.now(UTC))
                self._write(registry)
        _cache.clear()
        return registry["active"]

    def rotate(self) -> tuple[str, str | None]:
        """Make a new key pair the active one; retire (keep public, delete private) the old. Return (new, old)."""
        now = datetime.now(UTC)
        with self._locked():
            registry = self._read()
            old = registry.get("active")
            new = self._new_key(registry, now)
            if old:
                registry["keys"][old]["retired"] = _iso(now)
            self._write(registry)
            if old:
                (self.folder / f"{old}.pem").unlink(missing_ok=True)
        _cache.clear()
        return new, old

    def active(self) -> ActiveKey:
        """Return the key that signs now, creating the first one on first use."""
        self.ensure()
        stamp = self._keys_file.stat().st_mtime_ns
        cached = _cache.get(self.folder)
        if cached and cached[0] == stamp:
            return cached[1]
        kid = self._read()["active"]
        try:
            private_key = serialization.load_pem_private_key((self.folder / f"{kid}.pem").read_bytes(), password=None)
        except (OSError, ValueError) as exc:
            raise SigningError(f"cannot read the private key {kid}: {exc}") from exc
        if not isinstance(private_key, Ed25519PrivateKey):
            raise SigningError(f"the key {kid} is not an Ed25519 key")
        key = ActiveKey(kid, private_key)
        _cache[self.folder] = (stamp, key)
        return key

    def published(self) -> dict:
        """Return the public keys as published: key id -> raw public key (base64url), created, retired."""
        self.ensure()
        registry = self._read()
        return {
            "algorithm": "Ed25519",
            "proof_type": PROOF_TYPE,
            "canonicalization": CANONICALIZATION,
            "active": registry["active"],
            "keys": {kid: dict(entry) for kid, entry in sorted(registry["keys"].items())},
        }


#: folder -> (mtime of keys.json, loaded active key): signing must not re-read PEM files per request.
_cache: dict[Path, tuple[int, ActiveKey]] = {}


def keyring_for(app) -> KeyRing:
    """Return the key ring of an app (CERTIFICATE_KEYS_DIR, else <instance>/certificate_keys)."""
    return KeyRing(app.config.get("CERTIFICATE_KEYS_DIR") or Path(app.instance_path) / "certificate_keys")


# --- Signing and verifying -------------------------------------------------------------------


def sign_document(document: dict, key: ActiveKey, *, now: datetime | None = None,
                  verification_method: str | None = None) -> dict:
    """Return a copy of the document with a proof signed by the key."""
    signed = {k: v for k, v in _nfc(document).items() if k != "proof"}
    signed["proof"] = {
        "type": PROOF_TYPE,
        "keyId": key.kid,
        "created": _iso(now or datetime.now(UTC)),
        "proofPurpose": "assertionMethod",
        "canonicalization": CANONICALIZATION,
    }
    if verification_method:
        signed["proof"]["verificationMethod"] = verification_method
    signed["proof"]["signature"] = b64url(key.private_key.sign(_signing_input(signed)))
    return signed


@dataclass(frozen=True)
class Verification:
    ok: bool
    reason: str
    kid: str | None = None


def _parse_time(text) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def verify_signature(document, published_keys: dict) -> Verification:
    """Check a signed document against published keys (the whole key document or its "keys" mapping)."""
    if not isinstance(document, dict) or not isinstance(document.get("proof"), dict):
        return Verification(False, "no proof")
    proof = document["proof"]
    keys = published_keys.get("keys", published_keys) if isinstance(published_keys, dict) else {}
    kid = proof.get("keyId")
    entry = keys.get(kid) if isinstance(kid, str) else None
    if proof.get("type") != PROOF_TYPE or not isinstance(entry, dict):
        return Verification(False, "unknown key or proof type", kid if isinstance(kid, str) else None)
    try:
        public_key = Ed25519PublicKey.from_public_bytes(unb64url(entry["public_key"]))
        signature = unb64url(proof.get("signature"))
        public_key.verify(signature, _signing_input(document))
    except (InvalidSignature, ValueError, KeyError, TypeError, binascii.Error):
        return Verification(False, "bad signature", kid)
    retired, created = _parse_time(entry.get("retired")), _parse_time(proof.get("created"))
    if created is None or (retired is not None and created > retired):
        return Verification(False, "signed after the key was retired", kid)
    return Verification(True, "signature valid", kid)


def check_certificate_document(document, published_keys: dict, *, now: datetime | None = None) -> Verification:
    """Return whether a signed certificate document is genuine AND says the certificate is valid now."""
    signature = verify_signature(document, published_keys)
    if not signature.ok:
        return signature
    status = (document.get("credentialStatus") or {}).get("status")
    if status != "valid":
        return Verification(False, f"certificate status: {status}", signature.kid)
    until = document.get("validUntil")
    if until is not None:
        moment = _parse_time(until)
        if moment is None or moment <= (now or datetime.now(UTC)):
            return Verification(False, "certificate expired", signature.kid)
    return Verification(True, "valid", signature.kid)

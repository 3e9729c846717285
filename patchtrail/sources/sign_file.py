"""Verify a CloudTrail Lake export against its `result_sign.json`, the way AWS documents it.

AWS writes, beside the result files, a sign file with each file's SHA-256 (of the compressed
bytes) and an RSA signature (SHA256withRSA, PKCS#1 v1.5) of those hashes joined by one space.
The signing key is named by `publicKeyFingerprint`: AWS's own name for the key, looked up in
CloudTrail's ListPublicKeys (from `queryCompleteTime` on), which is what `aws cloudtrail
verify-query-results` does (aws-formats §4.4). The fingerprint is not computed from the key, so
a key file alone cannot be matched to it: `PublicKeys` therefore takes the keys from

- ListPublicKeys itself (`PublicKeys.from_cloudtrail`), looked up by fingerprint;
- a saved `aws cloudtrail list-public-keys` output (JSON), looked up by fingerprint;
- one key file (DER or PEM), trusted as the signing key whatever fingerprint the export names.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from patchtrail.errors import InvalidInput
from patchtrail.sources.base import ObjectError, ObjectUnreadable

SIGN_FILE = "result_sign.json"
#: How far after queryCompleteTime ListPublicKeys is searched (as the AWS CLI does).
KEY_SEARCH = timedelta(days=20)


class PublicKeys:
    """The public keys a run may verify export signatures with (see the module docstring).

    Args:
        listed: fingerprint -> DER key, as ListPublicKeys names them.
        trusted: one DER key trusted whatever the fingerprint, and where it came from.
        lookup: called with a time to list the keys valid then (ListPublicKeys), cached.
    """

    def __init__(self, *, listed: Mapping[str, bytes] | None = None,
                 trusted: tuple[bytes, str] | None = None,
                 lookup: Callable[[datetime], Mapping[str, bytes]] | None = None) -> None:
        self._listed = {k.lower(): v for k, v in (listed or {}).items()}
        self._trusted = trusted
        self._lookup = lookup
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        """Picklable (for worker processes) unless keys are looked up live."""
        if self._lookup is not None:
            raise TypeError("keys looked up through ListPublicKeys cannot go to another process")
        return {"listed": self._listed, "trusted": self._trusted}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(listed=state["listed"], trusted=state["trusted"])  # type: ignore[misc]

    @classmethod
    def from_file(cls, path: Path | str) -> PublicKeys:
        """Keys from a file: `aws cloudtrail list-public-keys` JSON, or one DER/PEM key."""
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise InvalidInput(f"{path}: cannot read the public key ({exc.strerror or exc})") from None
        if data.lstrip().startswith(b"{"):
            try:
                listed = {k["Fingerprint"]: base64.b64decode(k["Value"])
                          for k in orjson.loads(data)["PublicKeyList"]}
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise InvalidInput(f"{path}: not the JSON of `aws cloudtrail list-public-keys` "
                                   f"({type(exc).__name__}: {exc})") from None
            return cls(listed=listed)
        return cls(trusted=(_der(data, str(path)), str(path)))

    @classmethod
    def from_cloudtrail(cls, client: Any) -> PublicKeys:
        """Keys looked up in CloudTrail's ListPublicKeys with `client`, by fingerprint."""
        def lookup(at: datetime) -> dict[str, bytes]:
            keys: dict[str, bytes] = {}
            kwargs: dict[str, Any] = {"StartTime": at, "EndTime": at + KEY_SEARCH}
            while True:
                page = client.list_public_keys(**kwargs)
                for key in page.get("PublicKeyList", []):
                    keys[key["Fingerprint"]] = key["Value"]
                if not page.get("NextToken"):
                    return keys
                kwargs["NextToken"] = page["NextToken"]
        return cls(lookup=lookup)

    def key_for(self, fingerprint: str, at: datetime | None, *, ref: str) -> tuple[bytes, str]:
        """(DER key, how it was found) for an export signed with `fingerprint` at `at`."""
        if self._trusted is not None:
            return self._trusted[0], f"the key in {self._trusted[1]}"
        fingerprint = fingerprint.lower()
        with self._lock:
            if fingerprint not in self._listed and self._lookup is not None and at is not None:
                try:
                    self._listed.update({k.lower(): v for k, v in self._lookup(at).items()})
                except Exception as exc:  # noqa: BLE001 - any API failure: try again next run
                    raise ObjectUnreadable(f"{ref}: ListPublicKeys failed ({type(exc).__name__}: "
                                           f"{exc}); it will be read again next run") from exc
            key = self._listed.get(fingerprint)
        if key is None:
            raise ObjectError(f"{ref}: no public key with fingerprint {fingerprint!r} "
                              "(ListPublicKeys); export rejected")
        return key, f"the key of fingerprint {fingerprint}"


def verify_sign_file(sign: bytes, hashes: Mapping[str, str], *, ref: str,
                     keys: PublicKeys | None = None) -> dict[str, Any]:
    """Check a Lake export's result files against its `result_sign.json` (aws-formats §4.4).

    Any problem rejects the whole export (`ObjectError` naming the file): a result file listed
    in the sign file but missing, present but not listed, or whose SHA-256 differs; with `keys`,
    also an RSA signature that does not verify with the signing key.

    Args:
        sign: the bytes of `result_sign.json`.
        hashes: result file name -> hex SHA-256 of the bytes actually read.
        ref: the export (folder or `s3://bucket/.../<query-id>/`); messages name ref/file.
    Returns the parsed sign file.
    """
    sign_ref = member(ref, SIGN_FILE)
    try:
        body = orjson.loads(sign)
        listed = {f["fileName"]: str(f["fileHashValue"]).lower() for f in body["files"]}
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise ObjectError(f"{sign_ref}: unreadable sign file ({type(exc).__name__}: {exc})") from None
    algorithm = str(body.get("hashAlgorithm", "SHA-256")).upper()
    if algorithm != "SHA-256":
        raise ObjectError(f"{sign_ref}: hashAlgorithm {algorithm!r} is not SHA-256")
    for name in sorted(set(listed) - set(hashes)):
        raise ObjectError(f"{member(ref, name)}: listed in {SIGN_FILE} but missing; export rejected")
    for name in sorted(set(hashes) - set(listed)):
        raise ObjectError(f"{member(ref, name)}: not listed in {SIGN_FILE}; export rejected")
    for name in sorted(hashes):
        if hashes[name].lower() != listed[name]:
            raise ObjectError(
                f"{member(ref, name)}: SHA-256 {hashes[name]} does not match {listed[name]} in "
                f"{SIGN_FILE}; export rejected (tampered or incomplete)")
    if keys is not None:
        _verify_signature(body, keys, sign_ref=sign_ref)
    return body


def member(ref: str, name: str) -> str:
    return f"{ref.rstrip('/')}/{name}"


def _verify_signature(body: dict[str, Any], keys: PublicKeys, *, sign_ref: str) -> None:
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    algorithm = str(body.get("signatureAlgorithm", ""))
    if algorithm != "SHA256withRSA":
        raise ObjectError(f"{sign_ref}: signatureAlgorithm {algorithm!r} is not SHA256withRSA")
    fingerprint = str(body.get("publicKeyFingerprint", ""))
    der, found = keys.key_for(fingerprint, _time(body.get("queryCompleteTime")), ref=sign_ref)
    try:
        key = serialization.load_der_public_key(der)
        signature = bytes.fromhex(str(body.get("hashSignature", "")))
        data = " ".join(str(f["fileHashValue"]) for f in body["files"]).encode()
        key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr, call-arg]
    except (ValueError, UnsupportedAlgorithm, TypeError) as exc:
        raise ObjectError(f"{sign_ref}: cannot check the signature ({exc})") from None
    except InvalidSignature:
        raise ObjectError(f"{sign_ref}: the RSA signature (SHA256withRSA) does not verify with "
                          f"{found} (the export names fingerprint {fingerprint!r}); export "
                          "rejected") from None


def _der(data: bytes, where: str) -> bytes:
    """A public key as DER: DER (PKCS#1 or SubjectPublicKeyInfo) as is, PEM decoded."""
    from cryptography.hazmat.primitives import serialization

    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            key = serialization.load_pem_public_key(data)
        else:
            key = serialization.load_der_public_key(data)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"{where}: not a public key (DER or PEM): {exc}") from None
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None

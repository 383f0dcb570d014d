"""API credentials. The launcher reads them once from the environment (config.Secrets) and passes them here;
the secret never appears in a repr, str or log line."""

from __future__ import annotations

import hashlib
import hmac

API_KEY_ENV = "BINGX_API_KEY"
API_SECRET_ENV = "BINGX_API_SECRET"


class MissingCredentialsError(RuntimeError):
    pass


class BingXCredentials:
    """Holds the key pair and signs. Only a masked key is ever rendered."""

    __slots__ = ("_api_key", "_keyed", "_secret")

    def __init__(self, api_key: str, api_secret: str) -> None:
        if not api_key or not api_secret:
            raise MissingCredentialsError("BingX api key and secret must both be non-empty")
        self._api_key = api_key
        self._secret = api_secret.encode()
        self._keyed = hmac.new(self._secret, digestmod=hashlib.sha256)  # key schedule done once; sign() copies it

    @classmethod
    def from_secrets(cls, api_key: str, api_secret: str) -> BingXCredentials:
        """The pair read at start; a missing one is named by its environment variable."""
        missing = [name for name, value in ((API_KEY_ENV, api_key), (API_SECRET_ENV, api_secret)) if not value]
        if missing:
            raise MissingCredentialsError(f"set environment variable(s) {', '.join(missing)} for BingX access")
        return cls(api_key, api_secret)

    @property
    def api_key(self) -> str:
        return self._api_key

    @property
    def masked_key(self) -> str:
        return f"{self._api_key[:4]}...{self._api_key[-2:]}" if len(self._api_key) > 8 else "***"

    def sign(self, payload: str) -> str:
        """Lowercase hex HMAC-SHA256 of the parameter string (docs/reference/bingx_api.md §2.2)."""
        keyed = self._keyed.copy()
        keyed.update(payload.encode())
        return keyed.hexdigest()

    def redact(self, text: str) -> str:
        """Remove the secret from text that is about to be logged or raised (belt and braces)."""
        secret = self._secret.decode()
        return text.replace(secret, "***") if secret and secret in text else text

    def __repr__(self) -> str:
        return f"BingXCredentials(api_key={self.masked_key!r}, api_secret='***')"

    __str__ = __repr__

    def __reduce__(self):  # pickling would copy the secret into wherever the pickle goes
        raise TypeError("BingXCredentials cannot be pickled")

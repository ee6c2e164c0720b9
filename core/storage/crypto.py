"""Users' API keys at rest: Fernet (AES-128-CBC + HMAC-SHA256) under PERPWATCH_SECRET_KEY.

``PERPWATCH_SECRET_KEY`` holds one Fernet key, or several separated by commas to rotate:
the first encrypts, all decrypt. Unset, a key is generated on first start into
``<DATABASE_PATH>.key`` with mode 0600. Losing that key makes stored API keys unreadable
(users would have to /setkey again), so operators back it up with the database.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from core.config import ConfigError

log = logging.getLogger(__name__)


class KeyUnreadable(Exception):
    """A stored key cannot be decrypted with the configured secret (it was changed or lost)."""


def _fernets(secret: str, source: str) -> list[Fernet]:
    keys = [part.strip() for part in secret.split(",") if part.strip()]
    if not keys:
        raise ConfigError(f"{source} is empty")
    fernets = []
    for key in keys:
        try:
            fernets.append(Fernet(key.encode()))
        except (ValueError, TypeError):
            raise ConfigError(
                f"{source} must be a Fernet key (44 url-safe base64 characters); generate one with: "
                "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
            ) from None
    return fernets


def validate_secret(secret: str) -> None:
    """Raise ConfigError unless ``secret`` is a usable PERPWATCH_SECRET_KEY value."""
    _fernets(secret, "PERPWATCH_SECRET_KEY")


class KeyVault:
    def __init__(self, secret: str, *, source: str = "PERPWATCH_SECRET_KEY"):
        self._fernet = MultiFernet(_fernets(secret, source))

    def __repr__(self) -> str:
        return "KeyVault(<secret>)"

    @classmethod
    def from_settings(cls, secret: str | None, key_file: Path) -> KeyVault:
        """The vault for the configured secret, or for the generated key file."""
        if secret:
            return cls(secret)
        if key_file.exists():
            return cls(key_file.read_text().strip(), source=str(key_file))
        key_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(Fernet.generate_key().decode() + "\n")
        log.warning("PERPWATCH_SECRET_KEY is not set: generated an encryption key in %s "
                    "(mode 0600); back it up with the database", key_file)
        return cls(key_file.read_text().strip(), source=str(key_file))

    def encrypt(self, api_key: str) -> str:
        return self._fernet.encrypt(api_key.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise KeyUnreadable("stored API key cannot be decrypted with this secret") from None

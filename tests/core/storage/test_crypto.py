"""Keys at rest: encrypted, generated key file with mode 0600, rotation."""

from __future__ import annotations

import stat

import pytest
from cryptography.fernet import Fernet

from core.storage.crypto import KeyUnreadable, KeyVault


def test_round_trip_without_plaintext():
    vault = KeyVault(Fernet.generate_key().decode())
    token = vault.encrypt("my-coinglass-key")
    assert "my-coinglass-key" not in token
    assert vault.decrypt(token) == "my-coinglass-key"
    assert "my-coinglass-key" not in repr(vault)


def test_generated_key_file_is_private_and_reused(tmp_path):
    key_file = tmp_path / "perpwatch.db.key"
    first = KeyVault.from_settings(None, key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    token = first.encrypt("abc")
    assert KeyVault.from_settings(None, key_file).decrypt(token) == "abc"


def test_rotation_decrypts_old_tokens():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    token = KeyVault(old).encrypt("abc")
    assert KeyVault(f"{new},{old}").decrypt(token) == "abc"


def test_wrong_secret_is_reported_not_crashing():
    token = KeyVault(Fernet.generate_key().decode()).encrypt("abc")
    with pytest.raises(KeyUnreadable):
        KeyVault(Fernet.generate_key().decode()).decrypt(token)

"""Loading the secret hashing key, kept apart from the Spark code that uses it.

Loading needs only the environment and a file, so the checks before Spark starts
(``custseg.layer4_commands.preflight``) can refuse a missing or short key in a second; ``pseudonym``
re-exports it. The key never appears in a message.
"""

from __future__ import annotations

import os
from pathlib import Path

MIN_KEY_BYTES = 16


class HashKeyError(RuntimeError):
    """The hashing key is missing or unusable; the message never contains the key."""


def load_hash_key(env_name: str, key_file: str | None) -> bytes:
    """The key from ``$env_name`` or else from ``key_file``; refuses to run without one.

    Both sources are read the same way: surrounding whitespace is stripped (a key exported
    with a trailing newline is the same key as the file holding it) and the length checked.
    """
    value = os.environ.get(env_name, "").strip()
    source = f"environment variable {env_name}"
    if not value and key_file:
        path = Path(key_file)
        if not path.is_file():
            raise HashKeyError(
                f"hash key file {path} does not exist (pseudonym.key_file) and the "
                f"environment variable {env_name} is unset"
            )
        value = path.read_text(encoding="utf-8").strip()
        source = f"key file {path}"
    if not value:
        raise HashKeyError(
            f"no hashing key: set the environment variable {env_name} or pseudonym.key_file "
            "to a file holding a secret of at least 16 characters; refusing to write raw ids"
        )
    key = value.encode("utf-8")
    if len(key) < MIN_KEY_BYTES:
        raise HashKeyError(f"the hashing key from {source} is shorter than {MIN_KEY_BYTES} bytes")
    return key

"""agentor-secrets: secret stores whose values the host uses and no tool ever sees.

Stores implement :class:`agentor_core.interfaces.SecretStore`:
:class:`EncryptedFileStore` (AES-256-GCM, scrypt), :class:`EnvSecretStore`
(named environment variables only) and :class:`MemorySecretStore`.
:class:`Redactor` and :func:`redactor_for` scrub values from anything written down.
"""

from agentor_core.redaction import Redactor
from agentor_secrets.__about__ import __version__
from agentor_secrets.codes import SecretsCode
from agentor_secrets.env import EnvSecretStore
from agentor_secrets.factory import create, default_path
from agentor_secrets.file import PASSPHRASE_ENV, EncryptedFileStore
from agentor_secrets.memory import MemorySecretStore
from agentor_secrets.redaction import redactor_for

__all__ = [
    "PASSPHRASE_ENV",
    "EncryptedFileStore",
    "EnvSecretStore",
    "MemorySecretStore",
    "Redactor",
    "SecretsCode",
    "__version__",
    "create",
    "default_path",
    "redactor_for",
]

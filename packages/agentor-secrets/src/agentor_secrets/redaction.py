"""Building a :class:`~agentor_core.redaction.Redactor` from a store."""

from __future__ import annotations

from agentor_core.interfaces import SecretStore
from agentor_core.redaction import Redactor


def redactor_for(store: SecretStore) -> Redactor:
    """A redactor that knows every value currently in ``store``."""
    pairs = []
    for name in store.names():
        value = store.reveal(name)
        if value is not None:
            pairs.append((name, value))
    return Redactor(pairs)

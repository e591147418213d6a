"""A read-only store over environment variables the operator names one by one."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Final

from agentor_core.errors import AgentorError
from agentor_secrets.codes import SecretsCode
from agentor_secrets.validation import check_name

_ENV_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,255}")


class EnvSecretStore:
    """Secrets read from the environment, only for the variables named here.

    ``variables`` maps a secret name to the environment variable that holds it
    (``{"GITHUB_TOKEN": "GH_TOKEN"}``); a plain list of names uses the same name
    for both. Nothing else in the environment is visible through this store, so
    granting it does not hand out ``os.environ``. Values are read at each call,
    from ``environ`` (``os.environ`` unless given).
    """

    def __init__(
        self,
        variables: Mapping[str, str] | list[str] | tuple[str, ...],
        *,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        mapping = dict(variables) if isinstance(variables, Mapping) else {n: n for n in variables}
        for name, variable in mapping.items():
            check_name(name)
            if not _ENV_RE.fullmatch(variable):
                raise AgentorError(
                    SecretsCode.INVALID_NAME,
                    "an environment variable name must match [A-Za-z_][A-Za-z0-9_]*",
                    hint="name the variable exactly as it is exported",
                )
        self._variables: Final = mapping
        self._environ: Final = environ if environ is not None else os.environ

    def __repr__(self) -> str:
        return f"EnvSecretStore({sorted(self._variables)})"

    def names(self) -> list[str]:
        return sorted(name for name in self._variables if self.reveal(name) is not None)

    def exists(self, name: str) -> bool:
        return self.reveal(name) is not None

    def reveal(self, name: str) -> str | None:
        variable = self._variables.get(name)
        if variable is None:
            return None
        # An empty variable counts as unset: an empty credential is never meant.
        return self._environ.get(variable) or None

    def set(self, name: str, value: str) -> None:
        raise AgentorError(
            SecretsCode.READ_ONLY,
            "the environment store is read-only",
            hint=f"export the variable for {check_name(name)} before starting agentor",
        )

    def delete(self, name: str) -> bool:
        raise AgentorError(
            SecretsCode.READ_ONLY,
            "the environment store is read-only",
            hint=f"unset the variable for {check_name(name)} before starting agentor",
        )

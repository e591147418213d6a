"""Admitting a component before it runs: signature (when required) and requests within the grant.

The runtime that composes agentor (the CLI, a server) calls :func:`admit`
before handing a component to the sandbox, which never imports this package.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agentor_core.capabilities import Capabilities
from agentor_core.errors import AgentorError
from agentor_toolkit.component import embedded_manifest, kind, read_bounded
from agentor_toolkit.errors import ToolkitCode
from agentor_toolkit.generic import generic_subject
from agentor_toolkit.grants import check_grant
from agentor_toolkit.manifest import Manifest
from agentor_toolkit.signing import TrustStore, load_signature, signature_path, verify_bytes


@dataclass(frozen=True, slots=True)
class Admission:
    manifest: Manifest
    signer: str | None
    """The trusted key id, or None when no signature was required and none was checked."""
    generic: bool = False
    """True for a generic component: ``manifest.tools`` were reflected from its WIT types."""


def admit(
    component: Path,
    grant: Capabilities | None = None,
    *,
    trust: TrustStore | None = None,
    require_signature: bool = True,
    described: Manifest | None = None,
) -> Admission:
    """Refuse ``component`` unless it is signed by a trusted key (when required) and asks
    for no more than ``grant``.

    ``described`` is the manifest the component returned from ``describe()`` at
    load time; it must equal the signed one. A generic component (no embedded
    manifest) is admitted on a ``generic`` signature over its reflected tools
    and sidecar ``<stem>.tool.toml``, whose requests are checked against
    ``grant`` like a manifest's. Raises ``toolkit.unsigned``,
    ``toolkit.signature_invalid``, ``toolkit.untrusted_key``,
    ``toolkit.manifest_mismatch`` or ``toolkit.capabilities_exceed_grant``.
    """
    return admit_bytes(
        read_bounded(component),
        component,
        grant,
        trust=trust,
        require_signature=require_signature,
        described=described,
    )


def admit_bytes(
    data: bytes,
    component: Path,
    grant: Capabilities | None = None,
    *,
    trust: TrustStore | None = None,
    require_signature: bool = True,
    described: Manifest | None = None,
) -> Admission:
    """:func:`admit` for bytes already read from ``component`` (its signature sits beside it).

    Hand the sandbox these same bytes: reading the path again would run
    whatever is there by then, not what was checked.
    """
    sig_path = signature_path(component)
    signer = None
    generic = False
    if sig_path.is_file() or require_signature:
        if not sig_path.is_file():
            raise AgentorError(
                ToolkitCode.UNSIGNED,
                f"{component} is not signed and this host requires signatures",
                hint="sign it with 'agentor tool sign', or trust its publisher's signed build",
            )
        verified = verify_bytes(
            data,
            load_signature(sig_path),
            trust if trust is not None else TrustStore.default(),
            manifest=described,
            source=str(component),
            component=component,
        )
        manifest, signer = verified.manifest, verified.key_id
        generic = verified.kind == "generic"
    else:
        try:
            manifest = embedded_manifest(data, source=str(component))
        except AgentorError as exc:
            if exc.code != ToolkitCode.MANIFEST_MISSING or kind(data) != "component":
                raise
            # A generic component: its reflected tools and sidecar requests.
            manifest = generic_subject(data, component).manifest
            generic = True
        if described is not None and described.canonical() != manifest.canonical():
            raise AgentorError(
                ToolkitCode.MANIFEST_MISMATCH,
                f"{component}: the manifest it describes differs from the one embedded at build",
                hint="do not run it; rebuild it with 'agentor tool build'",
            )
    if grant is not None:
        check_grant(manifest, grant)
    return Admission(manifest=manifest, signer=signer, generic=generic)

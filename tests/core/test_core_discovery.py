"""Entry-point discovery, against distributions really registered on sys.path."""

from __future__ import annotations

import importlib
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path

import pytest

from agentor_core import (
    AgentorError,
    CoreCode,
    LabelSet,
    MemoryStore,
    SecretStore,
    ToolRuntime,
    discovery,
)
from agentor_core import interfaces as interfaces_module

STORE_SOURCE = """
class MemorySecretStore:
    def __init__(self, **options):
        self.options = options
        self.values = {}

    def names(self):
        return sorted(self.values)

    def exists(self, name):
        return name in self.values

    def reveal(self, name):
        return self.values.get(name)

    def set(self, name, value):
        self.values[name] = value

    def delete(self, name):
        return self.values.pop(name, None) is not None


def factory(**options):
    return MemorySecretStore(**options)


class NotAStore:
    def names(self):
        return []


def wrong_factory(**options):
    return NotAStore()


not_callable = 42


# Has the methods of every agentor interface, so it implements any of them.
class Everything:
    policy_hash = "0" * 64

    def __init__(self, **options):
        self.options = options


for _name in (
    "list_tools invoke invoke_async decide request_approval append close send names exists "
    "reveal set delete complete stream add get search"
).split():
    setattr(Everything, _name, lambda self, *args, **kwargs: None)


def everything(**options):
    return Everything(**options)
"""

Register = Callable[..., str]


@pytest.fixture
def register(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Register]:
    """Install a fake distribution into a fresh sys.path entry; returns its module name."""
    modules: list[str] = []

    def install(
        dist: str, entry_points: dict[str, list[tuple[str, str]]], source: str = STORE_SOURCE
    ) -> str:
        root = tmp_path / dist
        root.mkdir()
        module = f"fake_agentor_{uuid.uuid4().hex}"
        (root / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        info = root / f"{dist.replace('-', '_')}-0.1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1.0\n", encoding="utf-8"
        )
        lines = []
        for group, items in entry_points.items():
            lines.append(f"[{group}]")
            lines += [f"{name} = {target.replace('MODULE', module)}" for name, target in items]
        (info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        monkeypatch.syspath_prepend(str(root))
        importlib.invalidate_caches()
        modules.append(module)
        return module

    yield install
    for module in modules:
        sys.modules.pop(module, None)
    importlib.invalidate_caches()


def fail(call: Callable[[], object]) -> AgentorError:
    with pytest.raises(AgentorError) as info:
        call()
    return info.value


def test_every_interface_has_a_group_and_a_distribution() -> None:
    protocols = {
        obj
        for obj in vars(interfaces_module).values()
        if isinstance(obj, type)
        and obj.__module__ == "agentor_core.interfaces"
        and getattr(obj, "_is_protocol", False)
    }
    assert len(protocols) == 9
    infos = discovery.INTERFACES
    assert {info.interface for info in infos} == protocols
    assert len({info.group for info in infos}) == len(infos)
    for info in infos:
        assert info.group.startswith("agentor.")
        assert info.distribution.startswith("agentor-")
        assert discovery.info_for(info.interface) == info


def test_missing_implementation_names_the_distribution() -> None:
    if discovery.implementations(ToolRuntime):
        pytest.skip("a ToolRuntime is installed here (agentor-sandbox)")
    error = fail(lambda: discovery.load_factory(ToolRuntime))
    assert error.code == CoreCode.IMPLEMENTATION_MISSING
    assert error.message == (
        "no ToolRuntime is installed (entry-point group 'agentor.tool_runtime')"
    )
    assert error.hint == "install it: pip install agentor-sandbox"


@pytest.mark.parametrize("info", discovery.INTERFACES, ids=lambda i: i.interface.__name__)
def test_missing_named_implementation(info: discovery.InterfaceInfo) -> None:
    # Holds whatever else is installed: nothing is named like this.
    error = fail(lambda: discovery.create(info.interface, "no-such-implementation"))
    assert error.code == CoreCode.IMPLEMENTATION_MISSING
    assert "named 'no-such-implementation'" in error.message
    assert info.group in error.message
    assert error.hint == f"install it: pip install {info.distribution}"


def test_not_an_interface() -> None:
    for not_interface in (LabelSet, dict, int):
        error = fail(lambda t=not_interface: discovery.load_factory(t))
        assert error.code == CoreCode.INVALID_INPUT
        assert "is not an agentor interface" in error.message
        assert (
            fail(lambda t=not_interface: discovery.implementations(t)).code
            == CoreCode.INVALID_INPUT
        )


def ours(interface: type) -> list[tuple[str, str | None, str | None]]:
    """The implementations of ``interface`` that the tests registered."""
    return [
        (i.name, i.distribution, i.version)
        for i in discovery.implementations(interface)
        if i.value.startswith("fake_agentor_")
    ]


def test_create_from_a_registered_distribution(register: Register) -> None:
    module = register("fake-agentor-impl", {"agentor.secret_store": [("memory", "MODULE:factory")]})
    assert ours(SecretStore) == [("memory", "fake-agentor-impl", "0.1.0")]
    found = next(i for i in discovery.implementations(SecretStore) if i.name == "memory")
    assert found.value == f"{module}:factory"
    assert found.entry_point.group == "agentor.secret_store"
    store = discovery.create(SecretStore, "memory", prefix="x")
    assert isinstance(store, SecretStore)
    assert type(store).__module__ == module
    assert store.options == {"prefix": "x"}  # type: ignore[attr-defined]
    store.set("token", "s3cret")
    assert store.exists("token")
    assert store.reveal("token") == "s3cret"


def test_the_only_implementation_needs_no_name(register: Register) -> None:
    free = [i.interface for i in discovery.INTERFACES if not discovery.implementations(i.interface)]
    if not free:
        pytest.skip("every interface already has an implementation installed here")
    interface = SecretStore if SecretStore in free else free[0]
    group = discovery.info_for(interface).group
    register("fake-agentor-impl", {group: [("memory", "MODULE:everything")]})
    instance = discovery.create(interface, level=3)
    assert isinstance(instance, interface)
    assert instance.options == {"level": 3}  # type: ignore[attr-defined]
    assert callable(discovery.load_factory(interface))


def test_choose_by_name(register: Register) -> None:
    register("fake-agentor-impl", {"agentor.secret_store": [("memory", "MODULE:factory")]})
    assert isinstance(discovery.create(SecretStore, "memory"), SecretStore)
    error = fail(lambda: discovery.create(SecretStore, "keyring"))
    assert error.code == CoreCode.IMPLEMENTATION_MISSING
    assert "named 'keyring'" in error.message
    assert error.hint == "install it: pip install agentor-secrets"


def test_two_implementations_are_ambiguous(register: Register) -> None:
    register("fake-agentor-impl", {"agentor.secret_store": [("memory", "MODULE:factory")]})
    register("other-agentor-impl", {"agentor.secret_store": [("vault", "MODULE:factory")]})
    assert ours(SecretStore) == [
        ("memory", "fake-agentor-impl", "0.1.0"),
        ("vault", "other-agentor-impl", "0.1.0"),
    ]
    names = [i.name for i in discovery.implementations(SecretStore)]
    assert names == sorted(names)
    error = fail(lambda: discovery.load_factory(SecretStore))
    assert error.code == CoreCode.IMPLEMENTATION_AMBIGUOUS
    assert "memory (fake-agentor-impl)" in error.message
    assert "vault (other-agentor-impl)" in error.message
    assert isinstance(discovery.create(SecretStore, "vault"), SecretStore)
    assert isinstance(discovery.create(SecretStore, "memory"), SecretStore)


def test_broken_import(register: Register) -> None:
    register(
        "fake-agentor-impl",
        {"agentor.secret_store": [("broken", "MODULE:factory")]},
        source="raise ImportError('needs libfoo')\n",
    )
    error = fail(lambda: discovery.create(SecretStore, "broken"))
    assert error.code == CoreCode.IMPLEMENTATION_BROKEN
    assert "ImportError: needs libfoo" in error.message
    assert "fake-agentor-impl" in (error.hint or "")


def test_missing_module_or_attribute(register: Register) -> None:
    register(
        "fake-agentor-impl",
        {
            "agentor.secret_store": [("gone", "no_such_module_for_agentor_tests:factory")],
            "agentor.memory_store": [("typo", "MODULE:no_such_factory")],
        },
    )
    gone = fail(lambda: discovery.create(SecretStore, "gone"))
    assert gone.code == CoreCode.IMPLEMENTATION_BROKEN
    assert "ModuleNotFoundError" in gone.message
    typo = fail(lambda: discovery.create(MemoryStore, "typo"))
    assert typo.code == CoreCode.IMPLEMENTATION_BROKEN
    assert "AttributeError" in typo.message


def test_factory_result_lacking_methods(register: Register) -> None:
    register("fake-agentor-impl", {"agentor.secret_store": [("wrong", "MODULE:wrong_factory")]})
    error = fail(lambda: discovery.create(SecretStore, "wrong"))
    assert error.code == CoreCode.IMPLEMENTATION_BROKEN
    assert "NotAStore" in error.message
    # load_factory alone does not call the factory, so it cannot tell.
    assert callable(discovery.load_factory(SecretStore, "wrong"))


def test_entry_point_not_callable(register: Register) -> None:
    register("fake-agentor-impl", {"agentor.secret_store": [("num", "MODULE:not_callable")]})
    error = fail(lambda: discovery.load_factory(SecretStore, "num"))
    assert error.code == CoreCode.IMPLEMENTATION_BROKEN
    assert "not callable" in error.message


def test_installed_distributions_include_core(register: Register) -> None:
    found = {d.name: d.version for d in discovery.installed_distributions()}
    assert found["agentor-core"] == metadata.version("agentor-core")
    assert "agentor-workspace" not in found
    assert all(name.startswith("agentor-") for name in found)
    names = [d.name for d in discovery.installed_distributions()]
    assert names == sorted(names)
    register("agentor_Extra_Plugin", {})
    register("fake-agentor-impl", {})
    found = {d.name: d.version for d in discovery.installed_distributions()}
    assert found["agentor-extra-plugin"] == "0.1.0"
    assert "fake-agentor-impl" not in found

"""``agentor audit``: keygen, verify (clean and tampered), prove, tail, export, import."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from agentor_audit import AuditLog, load_signer
from agentor_cli.commands.audit import audit
from agentor_core.audit import AuditEvent, AuditEventType


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path, Path]:
    runner = CliRunner()
    key = tmp_path / "audit.key"
    result = runner.invoke(
        audit, ["keygen", "--out", str(key), "--name", "test.example/a", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["public_key"] == str(key) + ".pub"
    db = tmp_path / "audit.db"
    with AuditLog(
        db,
        load_signer(key),
        checkpoint_every=10,
        checkpoint_seconds=1e9,
        witness_dir=tmp_path / "w",
    ) as log:
        for i in range(30):
            log.append(
                AuditEvent(
                    type=AuditEventType.DECISION,
                    time=datetime(2026, 11, 27, tzinfo=UTC),
                    tool="fetch",
                    call_id=f"c{i}",
                    verdict="allow",
                    rule_id="r",
                )
            )
    return db, Path(str(key) + ".pub"), tmp_path / "w"


def test_verify_clean_and_tampered(setup: tuple[Path, Path, Path]) -> None:
    db, pub, witness = setup
    runner = CliRunner()
    ok = runner.invoke(
        audit, ["verify", str(db), "--key", str(pub), "--witness", str(witness), "--json"]
    )
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["size"] == 30
    con = sqlite3.connect(db)
    with con:
        con.execute("UPDATE events SET data = replace(data, 'c17', 'c99') WHERE seq = 17")
    con.close()
    bad = runner.invoke(audit, ["verify", str(db), "--key", str(pub), "--json"])
    assert bad.exit_code == 1
    report = json.loads(bad.output)
    assert report["first_bad_sequence"] == 17
    assert report["problem"] == "leaf_mismatch"
    text = runner.invoke(audit, ["verify", str(db), "--key", str(pub)])
    assert "first bad sequence 17" in text.output


def test_prove_tail_export_import(setup: tuple[Path, Path, Path], tmp_path: Path) -> None:
    db, pub, _ = setup
    runner = CliRunner()
    proof = runner.invoke(audit, ["prove", str(db), "--sequence", "5", "--key", str(pub), "--json"])
    assert proof.exit_code == 0, proof.output
    document = json.loads(proof.output)
    assert document["verified"] is True
    assert document["proof"].startswith("c2sp.org/tlog-proof@v1\nindex 5\n")
    consistency = runner.invoke(audit, ["prove", str(db), "--consistency", "10", "--key", str(pub)])
    assert consistency.exit_code == 0, consistency.output
    tail = runner.invoke(audit, ["tail", str(db), "-n", "3", "--json"])
    assert [r["sequence"] for r in json.loads(tail.output)["records"]] == [27, 28, 29]
    export = tmp_path / "out.jsonl"
    exported = runner.invoke(
        audit, ["export", str(db), "--format", "jsonl", "--out", str(export), "--json"]
    )
    assert json.loads(exported.output)["events"] == 30
    copy = tmp_path / "copy.db"
    imported = runner.invoke(
        audit, ["import", str(export), "--into", str(copy), "--key", str(pub), "--json"]
    )
    assert imported.exit_code == 0, imported.output
    again = runner.invoke(audit, ["verify", str(copy), "--key", str(pub), "--json"])
    assert json.loads(again.output)["ok"] is True


def test_errors_have_codes_and_hints(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(
        audit, ["verify", str(tmp_path / "none.db"), "--key", str(tmp_path / "k.pub"), "--json"]
    )
    assert missing.exit_code == 1
    error = json.loads(missing.output)["error"]
    assert error["code"] == "audit.key_missing"
    assert error["hint"]


def test_export_never_overwrites_and_leaves_no_partial_file(
    setup: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    db, _, _ = setup
    runner = CliRunner()
    existing = tmp_path / "kept.jsonl"
    existing.write_text("keep me\n", encoding="utf-8")
    taken = runner.invoke(audit, ["export", str(db), "--out", str(existing), "--json"])
    assert taken.exit_code == 1, taken.output
    assert json.loads(taken.output)["error"]["code"] == "audit.export_failed"
    assert existing.read_text(encoding="utf-8") == "keep me\n"
    out = tmp_path / "never.jsonl"
    missing = runner.invoke(
        audit, ["export", str(tmp_path / "none.db"), "--out", str(out), "--json"]
    )
    assert missing.exit_code == 1, missing.output
    assert json.loads(missing.output)["error"]["code"] == "audit.log_unreadable"
    assert not out.exists()

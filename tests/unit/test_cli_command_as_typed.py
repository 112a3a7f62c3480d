"""What `custodian demo` tells a person to type next runs as shown: `custodian` only when
that name on PATH is this program, else the path the program was started by."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.cli.main import command_as_typed


def _program(directory: Path) -> Path:
    directory.mkdir(parents=True)
    program = directory / "custodian"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    return program


def test_a_program_below_here_and_not_on_path_is_named_by_its_relative_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `make run` starts .venv/bin/custodian; a new shell has no virtual environment.
    program = _program(tmp_path / ".venv" / "bin")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert command_as_typed(".venv/bin/custodian") == ".venv/bin/custodian"
    assert command_as_typed(str(program)) == ".venv/bin/custodian"


def test_the_program_on_path_is_named_by_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    program = _program(tmp_path / "bin")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", str(program.parent))
    assert command_as_typed(str(program)) == "custodian"


def test_another_custodian_on_path_is_not_this_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = _program(tmp_path / "elsewhere")
    program = _program(tmp_path / "venv with space" / "bin")
    monkeypatch.chdir(other.parent)
    monkeypatch.setenv("PATH", str(other.parent))
    assert command_as_typed(str(program)) == f"'{program}'"


def test_a_program_in_this_directory_gets_a_slash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _program(tmp_path / "here")
    monkeypatch.chdir(tmp_path / "here")
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert command_as_typed("custodian") == "./custodian"


def test_run_as_a_module_it_is_named_custodian() -> None:
    assert command_as_typed("/src/api/cli/main.py") == "custodian"

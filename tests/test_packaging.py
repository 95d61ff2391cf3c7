"""The ways to install the course agree with each other, and CI runs what README says."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([A-Za-z0-9_.+\-]+)$")


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _pinned(specs):
    out = {}
    for spec in specs:
        m = PIN.match(spec.strip())
        assert m, f"{spec!r} is not pinned with ==: a course must install the same versions for all"
        out[m.group(1).lower()] = m.group(2)
    return out


def test_pyproject_pins_every_dependency():
    project = _pyproject()["project"]
    _pinned(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        _pinned(extra)
    assert "torch==2.13.0" in project["dependencies"]
    assert not any(d.startswith("torchvision") for d in project["dependencies"])


def test_environment_yml_lists_the_same_packages_and_versions():
    project = _pyproject()["project"]
    expected = _pinned(project["dependencies"] + project["optional-dependencies"]["test"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    listed = _pinned(p for p in pip_section if not p.startswith("-"))
    assert listed == expected, "environment.yml and pyproject.toml disagree"
    assert "python=3.11" in env["dependencies"]


def test_lock_file_agrees_with_the_pins():
    project = _pyproject()["project"]
    pins = _pinned(project["dependencies"] + project["optional-dependencies"]["test"])
    lock = _pinned(
        line for line in (ROOT / "requirements.lock").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    for name, version in pins.items():
        assert lock.get(name.replace("_", "-"), lock.get(name)) == version, (
            f"requirements.lock pins {name} differently from pyproject.toml"
        )


def _readme_commands():
    text = (ROOT / "README.md").read_text()
    quick = text.split("## Quick start", 1)[1].split("###", 1)[0]
    block = re.search(r"```bash\n(.*?)```", quick, flags=re.S).group(1)
    return [line.split("#", 1)[0].strip() for line in block.strip().splitlines()]


def test_readme_quick_start_has_two_commands_and_ci_runs_the_test_one():
    commands = _readme_commands()
    assert commands == ["make lab", "make test"]
    ci = [
        line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
        and not line.startswith(("set ", "cd "))
    ]
    assert ci == ["make test"], f".ci/run must call exactly README's test command, not {ci}"


def test_makefile_has_the_documented_targets():
    text = (ROOT / "Makefile").read_text()
    for target in ("install", "lab", "test", "execute", "release"):
        assert re.search(rf"^{target}:", text, flags=re.M), f"Makefile lacks `{target}`"

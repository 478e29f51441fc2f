#!/usr/bin/env python3
"""Fast stand-ins for the set-up scripts' expensive commands (python/pip, cmake, go, gcc, apt), by argv[0].

Each call is appended to $STANDIN_LOG ("<name> <args>") and leaves the files the real command would, so
scripts/setup.sh and builders/scripts/setup-lab.sh can run their cold branches in seconds. $STANDIN_FAIL
names a command ("cmake", "go", ...) that exits 1 instead.
"""

from __future__ import annotations

import io
import json
import os
import re
import stat
import sys
import sysconfig
import tarfile
import time
import zipfile
from pathlib import Path

PY_DIR = f"python{sys.version_info[0]}.{sys.version_info[1]}"


def log(name: str, args: list[str]) -> None:
    with open(os.environ["STANDIN_LOG"], "a") as f:
        f.write(" ".join([name, *args]) + "\n")


def executable(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def option(args: list[str], flag: str) -> str:
    return args[args.index(flag) + 1]


# --- python / pip -----------------------------------------------------------------------------------
def venv_root(argv0: str) -> Path:
    """<root>/bin/python -> <root> (the symlink as called, not its target)."""
    return Path(os.path.abspath(argv0)).parent.parent


def site_packages(root: Path) -> Path:
    return root / "lib" / PY_DIR / "site-packages"


def make_venv(target: Path) -> None:
    (target / "bin").mkdir(parents=True, exist_ok=True)
    python = target / "bin" / "python"
    if not python.exists():
        python.symlink_to(Path(__file__).resolve())
    executable(target / "bin" / "pip", '#!/bin/sh\nexec "$(dirname "$0")/python" -m pip "$@"\n')
    site_packages(target).mkdir(parents=True, exist_ok=True)


def pip(root: Path, args: list[str]) -> None:
    command = args[0]
    if command == "download":
        requirement = next(a for a in args[1:] if "==" in a)
        name, version = requirement.split("==")
        stem = f"{name.replace('-', '_')}-{version}"
        dest = Path(option(args, "-d"))
        dest.mkdir(parents=True, exist_ok=True)
        with tarfile.open(dest / f"{stem}.tar.gz", "w:gz") as tar:
            data = b"project(llama.cpp)\n"
            info = tarfile.TarInfo(f"{stem}/vendor/llama.cpp/CMakeLists.txt")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    elif command == "wheel":
        sdist = next(a for a in args[1:] if a.endswith(".tar.gz"))
        stem = Path(sdist).name.removesuffix(".tar.gz")
        dest = Path(option(args, "-w"))
        dest.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(dest / f"{stem}-py3-none-any.whl", "w") as wheel:
            wheel.writestr(f"{stem}.dist-info/METADATA", "Name: standin\n")
    elif command == "install" and "-r" in args and Path(option(args, "-r")).name == "requirements-triton.txt":
        server = site_packages(root) / "pytriton" / "tritonserver"
        executable(server / "bin" / "tritonserver", "#!/bin/sh\necho tritonserver standin\n")
        (server / "backends" / "python").mkdir(parents=True, exist_ok=True)
        pyver = f"{sys.version_info[0]}.{sys.version_info[1]}"
        executable(server / "python_backend_stubs" / pyver / "triton_python_backend_stub", "#!/bin/sh\n")
        (server / "external_libs").mkdir(exist_ok=True)
    elif command == "install" and "-r" not in args and all(a.startswith("-") or a == "pip" for a in args[1:]):
        pass  # pip install --upgrade pip
    # Other installs: the stand-in installs nothing; the set-up scripts only read their own stamps after.


def python(argv0: str, args: list[str]) -> None:
    root = venv_root(argv0)
    if args[:2] == ["-m", "venv"]:
        make_venv(Path(args[-1]))
    elif args[:2] == ["-m", "pip"]:
        pip(root, [a for a in args[2:] if a not in ("--quiet", "-q", "--disable-pip-version-check")])
    elif args[:1] == ["-c"]:
        # What the scripts ask an interpreter: its prefix, base executable, version, site-packages, LIBDIR.
        sys.prefix = str(root)
        sys._base_executable = os.path.abspath(argv0)  # type: ignore[attr-defined]
        purelib = str(site_packages(root))
        real_get_paths = sysconfig.get_paths
        sysconfig.get_paths = lambda *a, **k: {**real_get_paths(*a, **k), "purelib": purelib}
        exec(args[1], {"__name__": "__main__"})
    else:
        raise SystemExit(f"standin python: unsupported arguments {args}")


# --- cmake ------------------------------------------------------------------------------------------
def cmake(args: list[str]) -> None:
    if "-B" in args:
        Path(option(args, "-B")).mkdir(parents=True, exist_ok=True)
    elif args[:1] == ["--build"]:
        time.sleep(float(os.environ.get("STANDIN_BUILD_SECONDS", "0.5")))
        build = Path(args[1])
        for target in args[args.index("--target") + 1 :]:
            if target.startswith("-"):
                break
            executable(build / "bin" / target, f"#!/bin/sh\necho {target} standin\n")


# --- go ---------------------------------------------------------------------------------------------
def built_binary(path: Path, version: str) -> None:
    executable(path, f"#!/bin/sh\necho '{path.name} version {version}'\n")


# The version variables the build script stamps: Kubernetes' (and metrics-server's) gitVersion, helm's
# version, containerd's, crictl's and Prometheus' Version, the CNI plugins' BuildVersion,
# local-path-provisioner's main.VERSION.
STAMPED_VERSION = re.compile(r"-X \S+\.(?:gitVersion|version|Version|BuildVersion|VERSION)=(\S+)")
# go flags that take a value (the value is not a package).
VALUED_FLAGS = ("-o", "-ldflags", "-tags", "-gcflags")


def stamped_version(args: list[str]) -> str | None:
    """The version that `-ldflags "-X pkg.Var=V"` stamps, if any."""
    match = STAMPED_VERSION.search(option(args, "-ldflags")) if "-ldflags" in args else None
    return match.group(1) if match else None


def go_version(args: list[str]) -> str:
    """The version a real build would report: the one stamped by -ldflags, else what `go get` fetched."""
    return stamped_version(args) or Path(".standin-go-get").read_text().strip()


def go_packages(args: list[str]) -> list[str]:
    """The package arguments of `go build`/`go install`, flags and their values left out."""
    packages, skip = [], False
    for arg in args[1:]:
        if skip:
            skip = False
        elif arg in VALUED_FLAGS:
            skip = True
        elif not arg.startswith("-"):
            packages.append(arg)
    return packages


def go(args: list[str]) -> None:
    command = args[0]
    if args[:2] == ["mod", "download"]:
        module, version = args[-1].split("@")
        gomod = Path(os.environ["GOMODCACHE"]) / "cache" / f"{module.replace('/', '_')}@{version}.mod"
        gomod.parent.mkdir(parents=True, exist_ok=True)
        gomod.write_text(
            "module k8s.io/kubernetes\n\ngo 1.25.0\n\ngodebug default=go1.25\n\n"
            "replace (\n\tk8s.io/api => ./staging/src/k8s.io/api\n)\n"
        )
        print(json.dumps({"Path": module, "Version": version, "GoMod": str(gomod)}))
    elif args[:2] == ["version", "-m"]:
        # A real binary's embedded build info names its modules' versions; a stand-in binary prints its own.
        os.execv(args[2], [args[2]])
    elif command == "get":
        Path(".standin-go-get").write_text(args[-1].split("@")[1] + "\n")
    elif command == "build":
        out = option(args, "-o")
        version = go_version(args)
        for package in go_packages(args):
            path = Path(out) / package.rsplit("/", 1)[-1] if out.endswith("/") else Path(out)
            built_binary(path, version)
    elif command == "install":
        # go install PKG@V... (one module at one version): each binary reports V unless -ldflags stamps one.
        for argument in go_packages(args):
            package, version = argument.split("@")
            built_binary(Path(os.environ["GOBIN"]) / package.rsplit("/", 1)[-1], stamped_version(args) or version)
    # go mod init / go mod edit: nothing a later step reads.


# --- gcc (the static pause binary) -------------------------------------------------------------------
def gcc(args: list[str]) -> None:
    """Writes -o as a script that answers -v with the -DPAUSE_VERSION the build script passed."""
    defines = dict(a[2:].split("=", 1) for a in args if a.startswith("-D") and "=" in a)
    version = defines.get("PAUSE_VERSION", '"dev"').strip('"')
    executable(Path(option(args, "-o")), f"#!/bin/sh\necho 'pause {version}'\n")


# --- apt --------------------------------------------------------------------------------------------
# The commands each Debian package of scripts/install-debian-packages.sh puts on PATH.
APT_COMMANDS = {
    "runc": ("runc",),
    "iptables": ("iptables", "iptables-save", "iptables-restore"),
    "conntrack": ("conntrack",),
    "buildah": ("buildah",),
    "debootstrap": ("debootstrap",),
}


def apt_get(args: list[str]) -> None:
    if "install" in args:
        bin_dir = Path(os.environ.get("STANDIN_BIN") or Path(__file__).resolve().parent)
        for package in (a for a in args[args.index("install") + 1 :] if not a.startswith("-")):
            for tool in APT_COMMANDS.get(package, ()):
                executable(bin_dir / tool, f"#!/bin/sh\necho {tool} standin\n")


def main() -> None:
    argv0, args = sys.argv[0], sys.argv[1:]
    name = Path(argv0).name
    log(name, args)
    if name == os.environ.get("STANDIN_FAIL"):
        print(f"{name}: failing as asked (STANDIN_FAIL)", file=sys.stderr)
        raise SystemExit(1)
    if name == "pip":
        python(str(Path(argv0).parent / "python"), ["-m", "pip", *args])
    elif name.startswith(("python", "fake-python")):
        python(argv0, args)
    elif name == "cmake":
        cmake(args)
    elif name == "go":
        go(args)
    elif name in ("gcc", "cc"):
        gcc(args)
    elif name == "apt-get":
        apt_get(args)
    elif name == "apt-cache":
        pass
    else:
        raise SystemExit(f"standin: unknown command {name}")


if __name__ == "__main__":
    main()

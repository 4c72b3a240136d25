"""backend.py - the package's own PEP 517/660 build backend, on the standard
library only, so `pip install ./sdk/python` needs nothing from a package
index (no setuptools): it writes a pure-Python wheel of symbiont/ (or an
editable one pointing at the source tree) and an sdist."""
import base64
import hashlib
import io
import os
import tarfile
import re
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "symbiont"
SDIST_FILES = ("pyproject.toml", "README.md", "_build/backend.py")


def _project():
    """The [project] table's `key = "string"` lines (all this file uses; no
    tomllib, which needs Python 3.11)."""
    with open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8") as f:
        text = f.read()
    table = text.split("[project]", 1)[1].split("\n[", 1)[0]
    return dict(re.findall(r'^([A-Za-z-]+)\s*=\s*"([^"]*)"\s*$', table, re.M))


def _dist_name():
    p = _project()
    return p["name"].replace("-", "_"), p["version"]


def _metadata():
    p = _project()
    lines = ["Metadata-Version: 2.1", f"Name: {p['name']}", f"Version: {p['version']}",
             f"Summary: {p.get('description', '')}"]
    if "requires-python" in p:
        lines.append(f"Requires-Python: {p['requires-python']}")
    lines.append("Classifier: Typing :: Typed")
    readme = p.get("readme")
    body = ""
    if readme:
        lines.append("Description-Content-Type: text/markdown")
        with open(os.path.join(ROOT, readme), encoding="utf-8") as f:
            body = f.read()
    return ("\n".join(lines) + "\n\n" + body).encode("utf-8")


def _wheel_meta():
    return (b"Wheel-Version: 1.0\nGenerator: symbiont-build\nRoot-Is-Purelib: true\n"
            b"Tag: py3-none-any\n")


def _package_files():
    out = []
    base = os.path.join(ROOT, PACKAGE)
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for fn in sorted(filenames):
            if fn.endswith((".pyc", ".pyo")):
                continue
            full = os.path.join(dirpath, fn)
            out.append((os.path.relpath(full, ROOT).replace(os.sep, "/"), full))
    return out


def _write_wheel(wheel_directory, entries):
    """entries: (archive name, bytes). Adds the dist-info and RECORD."""
    name, version = _dist_name()
    info = f"{name}-{version}.dist-info"
    entries = list(entries) + [(f"{info}/METADATA", _metadata()),
                               (f"{info}/WHEEL", _wheel_meta()),
                               (f"{info}/top_level.txt", (PACKAGE + "\n").encode())]
    record = []
    filename = f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w",
                         zipfile.ZIP_DEFLATED) as z:
        for arc, data in entries:
            zi = zipfile.ZipInfo(arc, date_time=(2026, 1, 1, 0, 0, 0))
            zi.external_attr = 0o644 << 16
            zi.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(zi, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            record.append(f"{arc},sha256={digest.decode()},{len(data)}")
        record.append(f"{info}/RECORD,,")
        z.writestr(zipfile.ZipInfo(f"{info}/RECORD", date_time=(2026, 1, 1, 0, 0, 0)),
                   "\n".join(record) + "\n")
    return filename


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    name, version = _dist_name()
    info = f"{name}-{version}.dist-info"
    os.makedirs(os.path.join(metadata_directory, info), exist_ok=True)
    for fn, data in (("METADATA", _metadata()), ("WHEEL", _wheel_meta())):
        with open(os.path.join(metadata_directory, info, fn), "wb") as f:
            f.write(data)
    return info


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    entries = []
    for arc, full in _package_files():
        with open(full, "rb") as f:
            entries.append((arc, f.read()))
    return _write_wheel(wheel_directory, entries)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    """A wheel holding only a .pth file that puts the source tree on sys.path."""
    return _write_wheel(wheel_directory, [(f"__editable__.{PACKAGE}.pth",
                                           (ROOT + "\n").encode())])


def build_sdist(sdist_directory, config_settings=None):
    name, version = _dist_name()
    base = f"{name}-{version}"
    filename = base + ".tar.gz"
    files = [(rel, os.path.join(ROOT, rel)) for rel in SDIST_FILES]
    files += _package_files()
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz") as t:
        for rel, full in files:
            t.add(full, arcname=f"{base}/{rel}", recursive=False)
        pkg_info = _metadata()
        ti = tarfile.TarInfo(f"{base}/PKG-INFO")
        ti.size = len(pkg_info)
        t.addfile(ti, io.BytesIO(pkg_info))
    return filename

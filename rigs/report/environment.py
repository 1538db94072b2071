"""The bench inventory and software versions, as the report's Environment block.

"It failed on the lab bench but not in CI" is answered first by *what was different*: which
boards, which ports, which bleak, which Python. Allure reads ``environment.properties`` from the
results folder (Java properties, one ``key=value`` per line); Allure 3's ``allure2`` reader turns
it into the ``allure_environment`` metadata that the awesome view shows as the report's
Environment widget (``widgets/allure_environment.json``).

The bench file never holds secrets, only the *names* of environment variables that do; still,
an inventory may be assembled from other places, so any value whose key looks like a secret
(psk, password, token, secret, credential, api key, private key) is replaced by ``<redacted>``,
and user:password in URLs is blanked. A report is read by more people than the bench is.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import re
import sys
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path

import rigs

REDACTED = "<redacted>"
ENVIRONMENT_FILE = "environment.properties"

_SECRET_KEY = re.compile(
    r"psk|passw|passphrase|token|secret|credential|api[_-]?key|private[_-]?key|auth",
    re.IGNORECASE,
)
_URL_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<userinfo>[^/@\s]+)@", re.I)

#: Distributions whose versions decide how a run behaves; absent ones are skipped.
VERSIONED_PACKAGES: tuple[str, ...] = (
    "pyserial",
    "bleak",
    "bumble",
    "pywifi",
    "pyroute2",
    "pytest",
    "allure-pytest",
    "matplotlib",
)


def looks_secret(key: str) -> bool:
    """True for keys whose values must never reach a report."""
    return bool(_SECRET_KEY.search(key))


def redact(entries: Mapping[str, str]) -> dict[str, str]:
    """Replace secret-looking values and URL credentials; keys are kept so absence is visible."""
    clean: dict[str, str] = {}
    for key, value in entries.items():
        if looks_secret(key):
            clean[key] = REDACTED
        else:
            clean[key] = _URL_USERINFO.sub(rf"\g<scheme>{REDACTED}@", value)
    return clean


def software_versions(packages: Iterable[str] = VERSIONED_PACKAGES) -> dict[str, str]:
    """Python, OS, rigs and installed package versions (read from metadata, nothing imported)."""
    versions = {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": f"{platform.system()} {platform.release()} {platform.machine()}",
        "rigs": rigs.__version__,
    }
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def flatten(data: object, prefix: str = "") -> dict[str, str]:
    """Flatten nested tables/lists/dataclasses into dotted keys (``bench.serial.0.port``).

    Why flat: the Environment widget is a two-column table of name and value.
    """
    if dataclasses.is_dataclass(data) and not isinstance(data, type):
        data = dataclasses.asdict(data)
    if isinstance(data, Mapping):
        flat: dict[str, str] = {}
        for key, value in data.items():
            flat.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(data, list | tuple):
        flat = {}
        for index, value in enumerate(data):
            flat.update(flatten(value, f"{prefix}.{index}" if prefix else str(index)))
        return flat
    return {prefix: "" if data is None else str(data)}


def collect_environment(
    bench: object | None = None, *, extra: Mapping[str, object] | None = None
) -> dict[str, str]:
    """Everything for the Environment block: versions, the bench under ``bench.``, ``extra``.

    ``bench`` may be a parsed bench file (a mapping) or a dataclass describing it. The result is
    already redacted.
    """
    entries = software_versions()
    entries["python.executable"] = sys.executable
    if bench is not None:
        entries.update(flatten(bench, "bench"))
    if extra:
        entries.update(flatten(dict(extra)))
    return redact(entries)


def write_environment(results_dir: str | os.PathLike[str], entries: Mapping[str, str]) -> Path:
    """Write (redacted) ``environment.properties`` into the results folder; returns its path.

    Replaces an earlier file: one run, one environment. Written to ``.tmp`` then renamed, as
    Allure skips ``*.tmp`` files.
    """
    folder = Path(results_dir)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / ENVIRONMENT_FILE
    scratch = folder / (ENVIRONMENT_FILE + ".tmp")
    lines = [
        f"{_escape(key, is_key=True)}={_escape(value)}"
        for key, value in sorted(redact(entries).items())
    ]
    scratch.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(scratch, target)
    return target


def _escape(text: str, *, is_key: bool = False) -> str:
    """Java properties escaping, so ``:``/``=``/``#`` or a newline cannot split an entry."""
    out = []
    for index, char in enumerate(text):
        if char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif char in "=:" or (char in "#!" and index == 0):
            out.append("\\" + char)
        elif char == " " and (is_key or index == 0):
            out.append("\\ ")
        else:
            out.append(char)
    return "".join(out)

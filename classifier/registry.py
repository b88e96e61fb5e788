"""The model registry: one folder per version with the model file and its manifest, and an atomic
pointer to the version that serves."""
from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import secrets
import shutil
import tempfile
import warnings
from datetime import datetime, timezone
from pathlib import Path

import joblib
import sklearn

MODEL_FILE = "model.joblib"
MANIFEST_FILE = "manifest.json"
CURRENT_FILE = "current"
HISTORY_FILE = "history.jsonl"
VERSION_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z-[0-9a-f]{6}$")
DEFAULT_REGISTRY = Path(__file__).resolve().parent.parent / "models"


class ModelLoadError(RuntimeError):
    """A model version is missing, tampered with or unreadable."""


def default_registry_path() -> Path:
    """``OUTSORT_REGISTRY`` if set, else the project's ``models/`` folder."""
    return Path(os.environ.get("OUTSORT_REGISTRY") or DEFAULT_REGISTRY)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    import nltk
    import numpy
    import scipy
    return {"python": platform.python_version(), "scikit-learn": sklearn.__version__,
            "numpy": numpy.__version__, "scipy": scipy.__version__, "joblib": joblib.__version__,
            "nltk": nltk.__version__}


def _atomic_write_text(path: Path, text: str) -> None:
    """Write beside the target, flush to disk, then rename over it: readers see old or new, never half."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Registry:
    """Versions of fitted models under one folder.

    Parameters
    ----------
    root : Path, optional
        The registry folder; defaults to :func:`default_registry_path`.
    """

    def __init__(self, root: Path | str | None = None):
        self.root = Path(root) if root else default_registry_path()

    # ------------------------------------------------------------ reading
    def versions(self) -> list[str]:
        """Complete versions (those with a manifest), oldest first."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir()
                      if VERSION_PATTERN.match(p.name) and (p / MANIFEST_FILE).is_file())

    def current(self) -> str | None:
        """The serving version, or None when the registry holds none."""
        try:
            name = (self.root / CURRENT_FILE).read_text().strip()
        except OSError:
            return None
        return name if VERSION_PATTERN.match(name) and (self.root / name / MANIFEST_FILE).is_file() else None

    def resolve(self, version_or_dir: str | None = None) -> Path:
        """The folder of a version name, of a folder path, or of the current version."""
        if version_or_dir is None:
            version = self.current()
            if version is None:
                raise ModelLoadError(f"no current model in registry {self.root} (run 'outsort train')")
            return self.root / version
        if VERSION_PATTERN.match(version_or_dir):
            folder = self.root / version_or_dir
        else:
            folder = Path(version_or_dir)
        if not (folder / MANIFEST_FILE).is_file():
            raise ModelLoadError(f"no model version at {version_or_dir!r} (no {MANIFEST_FILE})")
        return folder

    def manifest(self, version_or_dir: str | None = None) -> dict:
        folder = self.resolve(version_or_dir)
        try:
            return json.loads((folder / MANIFEST_FILE).read_text())
        except (OSError, ValueError) as exc:
            raise ModelLoadError(f"unreadable manifest in {folder}: {exc}") from None

    def load(self, version_or_dir: str | None = None):
        """Load a model after checking its sha256 against the manifest.

        Returns
        -------
        (model, manifest)

        Raises
        ------
        ModelLoadError
            When the file is missing, its checksum differs, or it cannot be unpickled.
        """
        folder = self.resolve(version_or_dir)
        manifest = self.manifest(str(folder))
        path = folder / MODEL_FILE
        if not path.is_file():
            raise ModelLoadError(f"model file missing: {path}")
        actual = sha256_of(path)
        if actual != manifest.get("sha256"):
            raise ModelLoadError(f"model file {path} does not match its manifest checksum; refusing to load it")
        trained_with = manifest.get("libraries", {}).get("scikit-learn")
        if trained_with and trained_with != sklearn.__version__:
            warnings.warn(f"model {manifest.get('version')} was trained with scikit-learn {trained_with}, "
                          f"this is {sklearn.__version__}; retrain if predictions look wrong", stacklevel=2)
        try:
            model = joblib.load(path)
        except Exception as exc:  # a checksum-valid file can still fail to unpickle on other versions
            raise ModelLoadError(f"cannot load {path}: {exc}") from None
        return model, manifest

    # ------------------------------------------------------------ writing
    def save(self, model, manifest: dict, make_current: bool = True) -> str:
        """Write a new version atomically (a hidden temporary folder renamed into place).

        The manifest gets ``version``, ``created``, ``sha256``, ``libraries`` and ``parent``.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        now = datetime.now(timezone.utc)
        version = f"{now:%Y-%m-%dT%H-%M-%SZ}-{secrets.token_hex(3)}"
        staging = Path(tempfile.mkdtemp(dir=self.root, prefix=".staging-"))
        try:
            joblib.dump(model, staging / MODEL_FILE, compress=3)
            manifest = {**manifest, "version": version, "created": now.isoformat(timespec="seconds"),
                        "sha256": sha256_of(staging / MODEL_FILE), "libraries": library_versions(),
                        "parent": self.current()}
            (staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str))
            os.replace(staging, self.root / version)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        if make_current:
            self.set_current(version, action="train")
        return version

    def write_file(self, version: str, name: str, text: str) -> Path:
        """Add a text file (report, model card) to a version folder."""
        path = self.resolve(version) / name
        _atomic_write_text(path, text)
        return path

    def set_current(self, version: str, action: str = "promote", forced: bool = False) -> None:
        """Point the registry at ``version`` in one rename, and log the switch."""
        self.resolve(version)
        _atomic_write_text(self.root / CURRENT_FILE, version + "\n")
        entry = {"time": datetime.now(timezone.utc).isoformat(timespec="seconds"), "version": version,
                 "action": action, "forced": forced}
        with open(self.root / HISTORY_FILE, "a") as handle:
            handle.write(json.dumps(entry) + "\n")

    def history(self) -> list[dict]:
        try:
            lines = (self.root / HISTORY_FILE).read_text().splitlines()
        except OSError:
            return []
        return [json.loads(line) for line in lines if line.strip()]

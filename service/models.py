"""The model a worker serves, and its replacement without downtime.

A request takes :meth:`ModelHolder.get` once and keeps that :class:`ServedModel` to the end, so a
swap never changes the model under a request in flight: the old one is dropped when the last
request holding it finishes. A new version is loaded beside the old one, smoke-tested, and only
then swapped in; a version that fails either step is refused and remembered, so it is not retried
on every request until the registry points somewhere else (or an admin asks again).
"""
from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from classifier import ModelLoadError, Registry
from classifier.prediction import CATEGORIES, LABELS
from classifier.registry import VERSION_PATTERN

log = logging.getLogger("outsort.service")

SMOKE_TEXTS = ("reconcile vendor statements against the ledger", "answer customer calls about billing",
               "perform surgery on patients")
SMOKE_JOB = {"title": "clerk", "description": "Responsibilities:\n- Process vendor invoices\n- Answer customer calls"}


class ModelRefused(RuntimeError):
    """A version failed to load or failed its smoke test; the old model keeps serving."""


@dataclass(frozen=True)
class ServedModel:
    """A loaded model with its manifest; immutable, so requests can share it safely."""
    model: object
    manifest: dict
    loaded_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    @property
    def version(self) -> str:
        return str(self.manifest.get("version"))


def smoke_test(model) -> None:
    """Raise :class:`ModelRefused` unless ``model`` answers a few texts and a job sensibly."""
    try:
        predictions = model.predict(list(SMOKE_TEXTS), explain=True)
        jobs = model.predict_jobs([SMOKE_JOB])
    except Exception as exc:  # any failure of a candidate model means refusing it, whatever its type
        raise ModelRefused(f"smoke test failed: {type(exc).__name__}: {exc}") from None
    if len(predictions) != len(SMOKE_TEXTS) or len(jobs) != 1:
        raise ModelRefused("smoke test failed: wrong number of predictions")
    for p in predictions:
        numbers = (p.confidence, p.p_bpo_front_office, p.p_bpo_back_office, p.p_kpo, p.outsourceable,
                   p.automation_score)
        if p.category not in CATEGORIES or not all(math.isfinite(x) and 0 <= x <= 1 for x in numbers):
            raise ModelRefused(f"smoke test failed: implausible prediction {p.to_dict()}")
    if jobs[0].category not in LABELS:
        raise ModelRefused("smoke test failed: implausible job prediction")


class ModelHolder:
    """Holds the served model of one worker and swaps in the registry's current version.

    Parameters
    ----------
    registry : path
        The registry folder.
    check_interval : float
        Seconds between looks at the registry's ``current`` file (done on requests, never more
        often than this); a negative value turns automatic pick-up off.
    """

    def __init__(self, registry, check_interval: float = 5.0):
        self.registry = Registry(registry)
        self.check_interval = check_interval
        self._served: ServedModel | None = None
        self._swap_lock = threading.Lock()  # one load at a time; readers never wait for it
        self._last_check = -math.inf
        self._seen_current: str | None = None
        self.refused: dict[str, str] = {}  # version -> reason
        self.last_error: str | None = None
        self.reloads = {"swapped": 0, "refused": 0}

    # ------------------------------------------------------------------ reading
    @property
    def served(self) -> ServedModel | None:
        """The model now serving, or None; does not look at the registry."""
        return self._served

    def get(self) -> ServedModel | None:
        """The model to answer this request with, after a throttled look for a new version."""
        self.maybe_reload()
        return self._served

    # ------------------------------------------------------------------ swapping
    def maybe_reload(self) -> None:
        """Load the registry's current version if it changed since the last look (at most every
        ``check_interval`` seconds). Never raises: a refusal is logged and the old model stays."""
        if self.check_interval < 0:
            return
        now = time.monotonic()
        if now - self._last_check < self.check_interval:
            return
        self._last_check = now
        current = self.registry.current()
        if current is None or current == self._seen_current:
            return
        if self._served is not None and current == self._served.version:
            self._seen_current = current
            return
        if current in self.refused:
            return
        try:
            self.load(current)
        except ModelRefused:
            pass  # logged in load(); the old model keeps serving
        except _Busy:
            return  # another thread is loading; look again next time
        self._seen_current = current

    def load(self, version: str | None = None, force: bool = False) -> tuple[str, str | None]:
        """Load ``version`` (the registry's current by default) beside the served model and swap.

        Parameters
        ----------
        version : str, optional
        force : bool
            Retry a version refused before.

        Returns
        -------
        (status, previous_version)
            ``status`` is ``"swapped"`` or ``"unchanged"``.

        Raises
        ------
        ModelRefused
            The version is missing, fails its checksum, cannot be unpickled or fails the smoke test.
        """
        if not self._swap_lock.acquire(blocking=force):
            raise _Busy()
        try:
            return self._load_locked(version, force)
        finally:
            self._swap_lock.release()

    def _load_locked(self, version: str | None, force: bool) -> tuple[str, str | None]:
        previous = self._served.version if self._served else None
        try:
            version = version or self.registry.current()
            if version is None:
                raise ModelRefused(f"registry {self.registry.root} has no current version")
            if not VERSION_PATTERN.match(version):  # a name in the registry, never a path to some pickle
                raise ModelRefused(f"{version!r} is not a version name")
            if version == previous:
                return "unchanged", previous
            if version in self.refused and not force:
                raise ModelRefused(self.refused[version])
            candidate = self._load_and_test(version)
        except ModelRefused as exc:
            self.last_error = str(exc)
            if version:
                self.refused[version] = str(exc)
            self.reloads["refused"] += 1
            log.error("model %s refused, still serving %s: %s", version, previous, exc)
            raise
        self._served = candidate  # one reference assignment: requests see the old or the new model
        self.refused.pop(version, None)
        self.last_error = None
        self.reloads["swapped"] += 1
        log.info("model %s now serving (was %s)", candidate.version, previous)
        return "swapped", previous

    def _load_and_test(self, version: str) -> ServedModel:
        try:
            model, manifest = self.registry.load(version)
        except ModelLoadError as exc:
            raise ModelRefused(str(exc)) from None
        except Exception as exc:  # a corrupt file can fail in many ways while unpickling
            raise ModelRefused(f"cannot load {version}: {type(exc).__name__}: {exc}") from None
        smoke_test(model)  # first: a file can unpickle to any object, even one that takes no attributes
        model.manifest_ = manifest
        return ServedModel(model, manifest)


class _Busy(RuntimeError):
    """Another thread holds the swap lock."""

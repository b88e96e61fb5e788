"""Swapping models without downtime, and refusing the ones that do not work."""
from __future__ import annotations

import pytest

from classifier.model import TaskModel
from service.models import ModelHolder, ModelRefused
from tests_service_helpers import MANIFEST, broken_version, tampered_version


@pytest.fixture
def holder(registry):
    holder = ModelHolder(registry.root, check_interval=0)
    holder.load()
    return holder


def test_picks_up_a_new_current_version(holder, registry, fitted_model):
    old = holder.served
    new_version = registry.save(fitted_model, MANIFEST)
    holder.maybe_reload()
    assert holder.served.version == new_version
    assert old.version != new_version
    assert old.model.predict(["still answers"])  # a request holding the old model can finish


@pytest.mark.parametrize("make_bad", [tampered_version, broken_version])
def test_refuses_a_bad_version_and_keeps_the_old(holder, registry, fitted_model, make_bad):
    old = holder.served.version
    bad = make_bad(registry, fitted_model)
    holder.maybe_reload()
    assert holder.served.version == old
    assert bad in holder.refused
    assert holder.reloads["refused"] == 1
    holder.maybe_reload()  # not retried on every request
    assert holder.reloads["refused"] == 1
    good = registry.save(fitted_model, MANIFEST)  # the registry moves on: picked up
    holder.maybe_reload()
    assert holder.served.version == good


def test_check_interval_throttles_looks(registry, fitted_model):
    holder = ModelHolder(registry.root, check_interval=3600)
    holder.load()
    holder.maybe_reload()
    registry.save(fitted_model, MANIFEST)
    holder.maybe_reload()
    assert holder.served.version != registry.current()


def test_negative_interval_turns_pick_up_off(registry, fitted_model):
    holder = ModelHolder(registry.root, check_interval=-1)
    holder.load()
    registry.save(fitted_model, MANIFEST)
    holder.maybe_reload()
    assert holder.served.version != registry.current()


def test_load_refuses_with_reason(holder, registry, fitted_model):
    bad = tampered_version(registry, fitted_model)
    with pytest.raises(ModelRefused, match="checksum"):
        holder.load(bad)


def test_requests_pick_up_a_new_version(make_app, registry, fitted_model):
    client = make_app(registry=registry, RELOAD_INTERVAL=0).test_client()
    first = client.get("/v1/model").json["version"]
    new_version = registry.save(fitted_model, MANIFEST)
    assert client.post("/v1/classify", json={"text": "Answer calls"}).json["model_version"] == new_version
    assert first != new_version


def test_admin_reload(make_app, registry, fitted_model, auth):
    app = make_app(registry=registry)  # automatic pick-up off: only the admin call swaps
    client = app.test_client()
    before = client.get("/v1/model").json["version"]
    assert client.post("/v1/admin/reload", headers=auth).json == {
        "status": "unchanged", "version": before, "previous_version": before}
    new_version = registry.save(fitted_model, MANIFEST)
    response = client.post("/v1/admin/reload", headers=auth)
    assert response.json == {"status": "swapped", "version": new_version, "previous_version": before}
    assert client.get("/v1/model").json["version"] == new_version


def test_admin_reload_refused_is_409_and_old_model_serves(make_app, registry, fitted_model, auth):
    client = make_app(registry=registry).test_client()
    before = client.get("/v1/model").json["version"]
    tampered_version(registry, fitted_model)
    response = client.post("/v1/admin/reload", headers=auth)
    assert response.status_code == 409
    assert response.json["error"]["code"] == "model_refused"
    assert client.post("/v1/classify", json={"text": "Answer calls"}).json["model_version"] == before
    assert "outsort_model_reloads_total" in client.get("/metrics").text


def test_app_starts_on_a_bad_current_and_picks_up_a_good_one(make_app, registry, fitted_model):
    tampered_version(registry, fitted_model)
    client = make_app(registry=registry, RELOAD_INTERVAL=0).test_client()
    assert client.get("/readyz").status_code == 503
    registry.save(fitted_model, MANIFEST)
    assert client.get("/readyz").status_code == 200


def test_unfitted_model_fails_the_smoke_test():
    from service.models import smoke_test
    with pytest.raises(ModelRefused, match="smoke test"):
        smoke_test(TaskModel())


def test_pinned_version_serves_and_ignores_the_registry_current(make_app, registry, fitted_model):
    pinned = registry.current()
    newer = registry.save(fitted_model, {"labels": [], "metrics": {}})
    assert registry.current() == newer
    client = make_app(registry=registry, MODEL_VERSION=pinned, RELOAD_INTERVAL=0.0).test_client()
    for _ in range(2):  # a second request would pick up a new current if the version were not pinned
        assert client.get("/v1/model").get_json()["version"] == pinned


def test_pinned_version_that_is_not_a_name_is_refused(make_app, registry):
    client = make_app(registry=registry, MODEL_VERSION="../../elsewhere").test_client()
    assert client.get("/readyz").status_code == 503

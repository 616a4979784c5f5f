"""Schemathesis fuzzes every operation of the OpenAPI document: no 5xx, answers as documented."""

import json
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import checks

from .conftest import ORIGIN, Reader, add_site, make_app

SPEC = Path(__file__).parent.parent / "service" / "static" / "openapi.json"


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fuzz")
    app = make_app(f"sqlite:///{tmp / 'fuzz.db'}", tmp)
    add_site(app, "blog", mode="post")
    reader = Reader(app.test_client(), "blog")
    first = reader.post("A first comment").get_json()
    reader.post("A reply", parent_id=first["comment"]["id"])
    return app


OPERATIONS = ["GET /api/threads", "GET /api/counts", "POST /api/comments", "GET /api/comments/{comment_id}",
              "PATCH /api/comments/{comment_id}", "DELETE /api/comments/{comment_id}",
              "POST /api/comments/{comment_id}/report", "GET /feeds/{key}.atom", "GET /feeds/{key}/thread.atom",
              "GET /embed/thread", "GET /healthz"]


def test_served_document_is_the_one_in_the_project(fuzz_app):
    served = fuzz_app.test_client().get("/api/openapi.json").get_json()
    assert served == json.loads(SPEC.read_text())


def test_every_operation_is_fuzzed():
    documented = json.loads(SPEC.read_text())["paths"]
    assert sorted(f"{m.upper()} {p}" for p, item in documented.items() for m in item) == sorted(OPERATIONS)


def aim_at_real_site(case, aim):
    """Random site keys almost never exist; point a share of the cases at the
    real site and its pages so the deeper code paths get fuzzed too."""
    if aim == "random":
        return
    if isinstance(case.path_parameters, dict) and "key" in case.path_parameters:
        case.path_parameters["key"] = "blog"
    for container in (case.body, case.query):
        if isinstance(container, dict) and "site" in container:
            container["site"] = "blog"
        if aim == "site+url" and isinstance(container, dict) and "site" not in container and "url" in container:
            container["url"] = f"{ORIGIN}/post"
            if aim == "site+url" and "url" in container:
                container["url"] = f"{ORIGIN}/post" if isinstance(container["url"], str) else [f"{ORIGIN}/post"]


@pytest.mark.parametrize("label", OPERATIONS)
def test_operation_answers_as_documented_and_never_5xx(fuzz_app, label):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", fuzz_app)
    operation = next(op.ok() for op in schema.get_all_operations() if op.ok().label == label)

    @given(case=operation.as_strategy(), aim=st.sampled_from(["random", "site", "site+url"]))
    @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def fuzz(case, aim):
        aim_at_real_site(case, aim)
        response = case.call(headers={"Origin": ORIGIN})
        assert response.status_code < 500, (case.as_curl_command(), response.text)
        # Every check but "schema-valid data is accepted": the document cannot
        # say everything the server refuses (control characters, foreign URLs).
        case.validate_response(response, excluded_checks=[checks.positive_data_acceptance])

    fuzz()

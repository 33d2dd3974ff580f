"""The OpenAPI as a frontend developer's client generator reads it: names, errors, tags."""

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.deps import bureau_staff, current_user, optional_user
from app.errors import CODES
from tests.factories import PASSWORD, make_user

LOWER_CAMEL = re.compile(r"^[a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)*$")
SCHEMA_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*$")
CJK = re.compile(r"[\u4e00-\u9fff]")
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
# Writes any signed-in user may make: no role or ownership check, so no 403.
OPEN_TO_EVERY_SIGNED_IN_USER = {"previewMatches"}
# Path parameters that name no stored object (a year's targets exist, empty, for every year):
# they are validated (422) but never answer 404.
NOT_AN_OBJECT = {"year"}
# A POST on an object's sub-path is an action on its state (submit, award, a bid on a
# challenge...): a state that does not allow it answers 409.
ACTION_PATH = re.compile(r"/\{\w+\}/[\w-]+$")


@pytest.fixture(scope="module")
def spec(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            yield method.upper(), path, operation


def _calls(dependant: Dependant) -> set[Callable[..., Any]]:
    found = {dependant.call} if dependant.call is not None else set()
    for sub in dependant.dependencies:
        found |= _calls(sub)
    return found


def _params(dependant: Dependant, kind: str) -> list[Any]:
    """The route's `path_params`, `query_params` or `body_params`, with its dependencies'."""
    found = list(getattr(dependant, kind))
    for sub in dependant.dependencies:
        found += _params(sub, kind)
    return found


def test_every_operation_id_is_a_unique_lower_camel_case_name(spec: dict[str, Any]) -> None:
    ids = [op["operationId"] for _, _, op in _operations(spec)]
    assert [i for i in ids if not LOWER_CAMEL.match(i)] == []
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert {"createChallenge", "awardBid", "signIn", "getCurrentUser", "listChallenges"} <= set(ids)


def test_every_schema_name_is_a_clean_class_name(spec: dict[str, Any]) -> None:
    names = list(spec["components"]["schemas"])
    bad = [n for n in names if not SCHEMA_NAME.match(n)]
    assert bad == [], f"declare e.g. `class XPage(Page[XRead])` or name the model: {bad}"
    assert {"ChallengePage", "SignInForm", "Problem"} <= set(names)
    # Every 422 is a Problem: FastAPI's own HTTPValidationError appears only where a route
    # forgot to document its 422.
    assert "HTTPValidationError" not in names


def test_problem_code_is_an_enum_of_every_registered_code(spec: dict[str, Any]) -> None:
    code = spec["components"]["schemas"]["Problem"]["properties"]["code"]
    assert code["enum"] == list(CODES)


def test_every_route_documents_the_errors_it_can_answer(app: FastAPI, spec: dict[str, Any]) -> None:
    missing, checked = [], 0
    # FastAPI keeps included routers as branches: iterate the routes with their full paths.
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        calls = _calls(route.dependant)
        path_params = _params(route.dependant, "path_params")
        params = path_params + [
            p for kind in ("query_params", "body_params") for p in _params(route.dependant, kind)
        ]
        for method in route.methods:
            operation = spec["paths"][route.path_format][method.lower()]
            checked += 1
            required = set()
            if optional_user in calls:
                required.add("401")
            if bureau_staff in calls or (
                current_user in calls
                and method in WRITES
                and operation["operationId"] not in OPEN_TO_EVERY_SIGNED_IN_USER
            ):
                required.add("403")
            if any(p.name not in NOT_AN_OBJECT for p in path_params):
                required.add("404")
            if method == "POST" and ACTION_PATH.search(route.path_format):
                required.add("409")
            if params:
                required.add("422")
            absent = required - set(operation["responses"])
            if absent:
                missing.append(f"{method} {route.path_format}: {sorted(absent)}")
    assert checked == len(list(_operations(spec)))
    assert missing == []


def test_documented_errors_are_problem_details(spec: dict[str, Any]) -> None:
    for method, path, operation in _operations(spec):
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                content = response.get("content", {})
                assert "application/problem+json" in content, f"{method} {path} {status}"


def test_every_operation_has_a_chinese_summary_and_a_tag_with_a_chinese_description(
    spec: dict[str, Any],
) -> None:
    tags = {t["name"]: t.get("description", "") for t in spec.get("tags", [])}
    for method, path, operation in _operations(spec):
        assert CJK.search(operation.get("summary", "")), f"{method} {path} has no summary"
        assert operation.get("tags"), f"{method} {path} has no tag"
        for tag in operation["tags"]:
            assert CJK.search(tags.get(tag, "")), f"tag {tag} has no Chinese description"


def test_sign_in_takes_the_form_swagger_ui_sends(client: TestClient, session: Session) -> None:
    user = make_user(session)
    form = {
        "grant_type": "password",
        "username": user.username,
        "password": PASSWORD,
        "scope": "",
        "client_id": "",
        "client_secret": "",
    }
    answer = client.post("/api/v1/auth/token", data=form)
    assert answer.status_code == 200, answer.text
    assert answer.json()["token_type"] == "bearer"
    wrong_grant = client.post(
        "/api/v1/auth/token", data={**form, "grant_type": "client_credentials"}
    )
    assert wrong_grant.status_code == 422

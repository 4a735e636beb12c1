"""The JSON API against its own OpenAPI description, with schemathesis: no 5xx, and every
response conforms to the schema (status codes, content types, bodies), on each backend.

A request valid under the schema may still get 422: what a schema cannot state (a span on the
sentence's tokens and within it, a label of the project's scheme, an accepted suggestion's source and
version, the incident rules) is checked by the service, which names each problem. Any other refusal
of a schema-valid request (a 400) is a failure: the schema must say what the API takes."""

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from sqlalchemy import select

from annotator.models import User
from annotator.services.users import issue_api_token


@pytest.fixture
def api_token(app, db, runner, tmp_path, make_user):
    path = tmp_path / "reports.jsonl"
    rows = ["Forty drones were destroyed over Kursk Oblast. Two more fell.", "Над Белгородом  сбили 🚀 12 дронов."]
    path.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in rows), encoding="utf-8")
    assert runner.invoke(args=["import", str(path), "--project", "p"]).exit_code == 0
    make_user("alice")
    user = db.scalar(select(User).where(User.username == "alice"))
    token = issue_api_token(user)
    db.commit()
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a crash is a 500 response, which the checks report
    return token


@pytest.fixture
def api_schema(app, api_token):
    config = SchemathesisConfig.from_dict(
        {
            "checks": {
                "positive_data_acceptance": {
                    "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]
                }
            }
        }
    )
    return schemathesis.openapi.from_wsgi("/api/openapi.json", app, config=config)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzz_api_conforms_to_its_schema(case, api_token):
    case.call_and_validate(headers={"Authorization": f"Bearer {api_token}"})

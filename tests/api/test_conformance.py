"""Schemathesis against /api/v1/openapi.json: every operation, valid and invalid data, no
server error and no response that the document does not describe."""

from __future__ import annotations

import os
import re
import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from .conftest import bearer, make_key

# Small and fixed so the run stays a few seconds in CI; raise locally to search harder
# (API_CONFORMANCE_EXAMPLES=200).
EXAMPLES = int(os.environ.get("API_CONFORMANCE_EXAMPLES", "6"))


def _real_ids(org) -> dict[str, int]:
    return {
        "screening_id": org.screening.id,
        "invitation_id": org.completed.id,
    }


@pytest.mark.skipif(
    bool(os.environ.get("TEST_DATABASE_URL")),
    reason="a protocol conformance run: once per suite (on SQLite) is enough",
)
def test_api_conforms_to_its_openapi_document(app, org, other_org):
    app.config["API_RATE_LIMIT"] = "100000 per minute"
    headers = bearer(make_key(org.org))
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 17
    for operation in operations:
        names = set(re.findall(r"{(\w+)}", operation.path))
        real = {k: v for k, v in _real_ids(org).items() if k in names}
        passes = [(GenerationMode.POSITIVE, None), (GenerationMode.NEGATIVE, None)]
        if real and len(real) == len(names):
            passes.append((GenerationMode.POSITIVE, real))
        for mode, path_parameters in passes:
            strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=strategy)
            def run(case):
                sent = {**(case.headers or {}), **headers}
                if "Idempotency-Key" in sent:
                    # Generated keys repeat across unrelated requests ("0"); the idempotency
                    # draft answers that reuse with 422, by design. Each case gets its own.
                    sent["Idempotency-Key"] = uuid.uuid4().hex
                case.call_and_validate(headers=sent)

            try:
                run()
            except Unsatisfiable:
                # Nothing of this operation can be invalid (a path token is any string).
                assert mode == GenerationMode.NEGATIVE, operation.label
            except Exception as error:  # collect every operation's failure, then report
                failures.append(f"{operation.label} [{mode.value}]: {error}")
    assert not failures, "\n\n".join(failures)

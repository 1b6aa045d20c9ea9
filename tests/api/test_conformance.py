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
from schemathesis.specs.openapi.checks import positive_data_acceptance

from .conftest import make_key

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
    # The key goes in through schemathesis' own auth (the document's "apiKey" bearer scheme),
    # so its negative cases can also leave it out or spoil it.
    config = schemathesis.Config.from_dict(
        {"auth": {"openapi": {"apiKey": {"bearer": make_key(org.org)}}}}
    )
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 17
    for operation in operations:
        names = set(re.findall(r"{(\w+)}", operation.path))
        real = {k: v for k, v in _real_ids(org).items() if k in names}
        passes = [(GenerationMode.POSITIVE, None), (GenerationMode.NEGATIVE, None)]
        if real and len(real) == len(names):
            passes.append((GenerationMode.POSITIVE, real))
        excluded = []
        if operation.label == "POST /api/v1/screenings/{screening_id}/invitations":
            # `format: email` admits special-use domains (.test, .invalid, .local...), which
            # the recruiting rule refuses with 422 (the field's description says so); JSON
            # Schema has no portable way to say it, so only this heuristic check is left out.
            excluded = [positive_data_acceptance]
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
                if case.headers and "Idempotency-Key" in case.headers:
                    # Generated keys repeat across unrelated requests ("0"); the idempotency
                    # draft answers that reuse with 422, by design. Each case gets its own.
                    case.headers["Idempotency-Key"] = uuid.uuid4().hex
                case.call_and_validate(excluded_checks=excluded)  # noqa: B023 (run at once)

            try:
                run()
            except Unsatisfiable:
                # Nothing of this operation can be invalid (a path token is any string).
                assert mode == GenerationMode.NEGATIVE, operation.label
            except Exception as error:  # collect every operation's failure, then report
                failures.append(f"{operation.label} [{mode.value}]: {error}")
    assert not failures, "\n\n".join(failures)

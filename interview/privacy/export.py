"""The candidate's download: a ZIP of everything stored about them (GDPR Art. 15 and 20)."""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from typing import IO

from ..media.storage import NotStored, get_storage
from ..models import AssetKind, Invitation, Organization
from . import services
from .services import ExportOptions

README = """Your data from {org}

answers/       each answer you kept, as a video (MP4) or sound (M4A) file
questions.txt  the questions you were asked, in order
consent.json   when you agreed to the privacy notice (and from which address)
data.json      every field {org} stores about you, part by part
{reviews}
Questions about your data: {contact}
"""


def options_for(org: Organization) -> ExportOptions:
    return ExportOptions(include_reviews=org.export_includes_reviews)


def _kept_answers(invitation: Invitation):
    for question in invitation.questions:
        if question.is_practice or question.response is None:
            continue
        take = question.response.take
        asset = next((a for a in take.assets if a.kind == AssetKind.MP4), None)
        if asset is not None:
            yield question, asset


def build_zip(invitation: Invitation) -> IO[bytes]:
    """The ZIP in an anonymous temporary file (never in memory: answers can be large), rewound."""
    org = invitation.screening.organization
    options = options_for(org)
    sections = services.export_sections(invitation, options)
    out = tempfile.TemporaryFile()  # noqa: SIM115 (returned; removed when closed)
    storage = get_storage()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        number = 0
        questions = []
        for question in invitation.questions:
            if question.is_practice:
                continue
            number += 1
            questions.append(f"{number}. {question.prompt}")
        archive.writestr("questions.txt", "\n\n".join(questions) + "\n")
        archive.writestr(
            "consent.json",
            json.dumps(
                {
                    "notice_accepted_at": invitation.consent_at.isoformat()
                    if invitation.consent_at
                    else None,
                    "from_address": invitation.consent_ip,
                    "organisation": org.name,
                },
                indent=2,
            ),
        )
        archive.writestr("data.json", json.dumps(sections, indent=2, ensure_ascii=False))
        positions = {
            q.id: n
            for n, q in enumerate((q for q in invitation.questions if not q.is_practice), start=1)
        }
        for question, asset in _kept_answers(invitation):
            extension = "m4a" if asset.content_type.startswith("audio/") else "mp4"
            try:
                with (
                    storage.open(asset.storage_key) as source,
                    archive.open(
                        f"answers/question-{positions[question.id]}.{extension}", "w"
                    ) as target,
                ):
                    shutil.copyfileobj(source, target, 1024 * 1024)
            except NotStored:
                continue  # being reprocessed: data.json still lists it
        archive.writestr(
            "README.txt",
            README.format(
                org=org.name,
                contact=org.privacy_contact or org.name,
                reviews="data.json also holds what reviewers wrote about you.\n"
                if options.include_reviews
                else "",
            ),
        )
    out.seek(0)
    return out

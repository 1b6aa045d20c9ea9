"""What a reviewer's browser is sent of each answer (media links, captions, transcript) under
the screening's review mode, and searching the answers' transcripts (issue 14).

In audio-only and transcript-only modes no link to the picture (or, transcript-only, to the
sound) is put in the page or its JSON before the viewer may reveal it; the media route refuses
those assets too (``access.may_stream_answer_asset``).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for

from ..extensions import db
from ..models import (
    AssetKind,
    InterviewQuestion,
    Invitation,
    MediaAsset,
    ReviewMode,
    Screening,
    User,
)
from ..reports.services import CandidateResult, candidate_numbers
from ..transcripts import reading
from ..transcripts import search as transcript_search
from .access import candidate_filter, may_fetch, sees_names


@dataclass
class AnswerMedia:
    """Links for one answer, each None when the mode withholds it."""

    video_url: str | None
    poster_url: str | None
    audio_url: str | None
    captions_url: str | None
    transcript: reading.TakeText

    @property
    def player(self) -> str | None:
        """ "video", "audio" or None (transcript only, or nothing playable)."""
        if self.video_url:
            return "video"
        return "audio" if self.audio_url else None


def _url(asset_id: int | None) -> str | None:
    return url_for("media.asset", asset_id=asset_id) if asset_id else None


def answer_media(result: CandidateResult, mode: ReviewMode) -> dict[int, AnswerMedia]:
    """By response id: the links the viewer gets in ``mode`` (two queries for all answers)."""
    texts = reading.for_takes(r.take_id for r in result.responses if r.take_id)
    ids = [r.video_asset_id for r in result.responses if r.video_asset_id]
    content_types = dict(
        db.session.execute(
            db.select(MediaAsset.id, MediaAsset.content_type).where(MediaAsset.id.in_(ids))
        ).all()
    )
    out = {}
    for response in result.responses:
        text = texts.get(response.take_id) or reading.TakeText("none")
        content_type = content_types.get(response.video_asset_id, "")
        sound_only = response.audio_only or content_type.startswith("audio/")
        video = poster = audio = None
        if response.video_asset_id:
            kind_type = "audio/mp4" if sound_only else "video/mp4"
            if may_fetch(AssetKind.MP4, kind_type, mode):
                if sound_only:
                    audio = response.video_asset_id
                else:
                    video = response.video_asset_id
                    poster = response.poster_asset_id
            elif may_fetch(AssetKind.AUDIO, "audio/mp4", mode):
                audio = text.audio_asset_id
        out[response.response_id] = AnswerMedia(
            video_url=_url(video),
            poster_url=_url(poster),
            audio_url=_url(audio),
            captions_url=_url(text.captions_asset_id),
            transcript=text,
        )
    return out


def answers_json(result: CandidateResult, media: dict[int, AnswerMedia], mode: ReviewMode) -> dict:
    """The candidate page as JSON (``Accept: application/json``): the same links as the page."""
    return {
        "candidate_id": result.invitation_id,
        "review_mode": mode.value,
        "answers": [
            {
                "response_id": r.response_id,
                "number": r.number,
                "prompt": r.prompt,
                "duration_ms": r.duration_ms,
                "video_url": media[r.response_id].video_url,
                "poster_url": media[r.response_id].poster_url,
                "audio_url": media[r.response_id].audio_url,
                "captions_url": media[r.response_id].captions_url,
                "transcript": {
                    "status": media[r.response_id].transcript.status,
                    "language": media[r.response_id].transcript.language,
                    "segments": [
                        {"start_ms": line.start_ms, "end_ms": line.end_ms, "text": line.text}
                        for line in media[r.response_id].transcript.lines
                    ],
                },
            }
            for r in result.responses
        ],
    }


# --- search -----------------------------------------------------------------------------------


@dataclass
class SearchHit:
    invitation_id: int
    candidate: str  # a name, or "Candidate N" when names are hidden from the viewer
    response_id: int
    answer_number: int
    start_ms: int
    pieces: list[tuple[str, bool]]  # the matching sentence, searched words marked


def search_answers(user: User, screening: Screening, query: str) -> list[SearchHit]:
    """Sentences of the answers ``user`` may review in ``screening`` that contain every word of
    ``query`` (assigned candidates only for reviewers; names hidden as on the queue)."""
    scope = candidate_filter(user, screening)
    if scope is None:
        return []
    hits = transcript_search.search(user.org_id, screening.id, query, scope)
    if not hits:
        return []
    invitation_ids = {h.invitation_id for h in hits}
    numbers = candidate_numbers(screening.id, invitation_ids)
    names = dict(
        db.session.execute(
            db.select(Invitation.id, Invitation.candidate_name).where(
                Invitation.id.in_(invitation_ids)
            )
        ).all()
    )
    scored_positions: dict[int, list[int]] = {}
    for invitation_id, position in db.session.execute(
        db.select(InterviewQuestion.invitation_id, InterviewQuestion.position)
        .where(
            InterviewQuestion.invitation_id.in_(invitation_ids),
            InterviewQuestion.is_practice.is_(False),
        )
        .order_by(InterviewQuestion.position)
    ):
        scored_positions.setdefault(invitation_id, []).append(position)
    show_names = sees_names(user, screening)
    return [
        SearchHit(
            invitation_id=h.invitation_id,
            candidate=names[h.invitation_id]
            if show_names
            else f"Candidate {numbers[h.invitation_id]}",
            response_id=h.response_id,
            answer_number=scored_positions[h.invitation_id].index(h.position) + 1,
            start_ms=h.start_ms,
            pieces=transcript_search.highlight(h.text, query),
        )
        for h in hits
    ]

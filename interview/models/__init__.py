"""The data model, one module per domain area; import models from here."""

from .accounts import Organization, Role, User
from .api import SCOPES, ApiKey, IdempotentRequest
from .audit import AuditEvent
from .base import UTCDateTime, utcnow
from .candidates import (
    EmailStatus,
    InterviewQuestion,
    Invitation,
    InvitationStatus,
    Response,
    Take,
    TakeStatus,
)
from .imports import ImportStatus, InvitationImport
from .jobs import JobRun, JobStatus
from .media import AssetKind, MediaAsset, UploadChunk
from .privacy import DataRequest, DataRequestKind, DataRequestStatus, PurgeItem
from .reports import PageSize, Report, ReportKind, ReportStatus
from .reviews import (
    Comment,
    Decision,
    Recommendation,
    Review,
    ReviewAssignment,
    ReviewStatus,
    Score,
)
from .screenings import (
    Criterion,
    Question,
    ReviewMode,
    Rubric,
    Screening,
    ScreeningStatus,
)
from .shares import ShareLink, ShareLinkCandidate
from .transcripts import Transcript, TranscriptSegment, TranscriptStatus
from .webhooks import (
    EVENT_TYPES,
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

__all__ = [
    "EVENT_TYPES",
    "SCOPES",
    "ApiKey",
    "DeliveryStatus",
    "IdempotentRequest",
    "ShareLink",
    "ShareLinkCandidate",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "AssetKind",
    "AuditEvent",
    "Comment",
    "Criterion",
    "Decision",
    "DataRequest",
    "DataRequestKind",
    "DataRequestStatus",
    "EmailStatus",
    "ImportStatus",
    "InterviewQuestion",
    "InvitationImport",
    "Invitation",
    "InvitationStatus",
    "JobRun",
    "JobStatus",
    "MediaAsset",
    "Organization",
    "PageSize",
    "PurgeItem",
    "Question",
    "Recommendation",
    "Report",
    "ReportKind",
    "ReportStatus",
    "Response",
    "Review",
    "ReviewMode",
    "ReviewAssignment",
    "ReviewStatus",
    "Role",
    "Rubric",
    "Score",
    "Screening",
    "ScreeningStatus",
    "Take",
    "TakeStatus",
    "Transcript",
    "TranscriptSegment",
    "TranscriptStatus",
    "UTCDateTime",
    "UploadChunk",
    "User",
    "utcnow",
]

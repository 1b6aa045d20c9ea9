"""Transcripts and captions, recognised offline; search over what candidates said."""

from . import erasure  # noqa: F401 (registers the transcripts' part of a candidate's data)

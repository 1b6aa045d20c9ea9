"""Tests of media processing, storage and streaming."""

"""Test suite (a package so worker subprocesses can import test job targets)."""

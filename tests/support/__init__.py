"""Test doubles shared by the suites under tests/ (importable as ``support``)."""

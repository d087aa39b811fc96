"""Append-only record of every mutation: who, what, when, before/after."""

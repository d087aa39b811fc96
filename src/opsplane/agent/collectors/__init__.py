"""Metric collectors: each turns one source (the host, a local endpoint) into metric points."""

"""Alerting: rules, evaluation, alerts, incidents, silences, inhibition, routing, notifications."""

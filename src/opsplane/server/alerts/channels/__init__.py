"""Notification channels: one module per kind, each a `send(channel, notification, client)`."""

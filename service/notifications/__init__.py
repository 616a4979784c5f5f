"""Notifications: the outbox and what it delivers."""

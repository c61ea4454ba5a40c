"""Signed webhooks: endpoints, the outbox written with each change, and its sender."""

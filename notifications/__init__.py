"""Notifications: one Channel interface, DingTalk adapters, the outbox dispatcher, PHI masking."""

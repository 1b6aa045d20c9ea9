"""Webhooks: endpoints, events written with each change, signed deliveries with retries."""

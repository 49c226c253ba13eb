"""Outbound webhooks: events an account's systems are told of, signed, batched and retried.

Not to be confused with the incoming provider webhooks (messaging/webhooks.py):
these go out, to endpoints an account registers.
"""

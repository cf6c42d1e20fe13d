"""Dispatcher Lambda: an SQS batch -> one signed HTTP delivery attempt per record."""

from ferry.handlers import dispatcher_handler as handler

__all__ = ["handler"]

"""Paging: notifiers behind one protocol, routing, retries and durable delivery records."""

"""Conversation logic: the thread fold (counts, timing and the brand's first response)."""

"""What a person does to a thread from the command line or the crisis-room page: resolve it."""

from __future__ import annotations

from datetime import datetime

from elasticsearch import ConflictError, Elasticsearch, NotFoundError

from models.threads.policy import SlaPolicy
from streams.contracts.records import Thread
from streams.search.documents import thread_document, thread_from_document
from streams.search.layout import Layout
from streams.search.threads import resolve, service

MAX_ATTEMPTS = 20


def resolve_thread(
    client: Elasticsearch, layout: Layout, key: str, at: datetime, policy: SlaPolicy
) -> Thread | None:
    """Resolve the thread ``key`` at ``at`` (None: no such thread). Written only over the version
    read (``if_seq_no``), so a worker's concurrent update is never overwritten: on a conflict it is
    read and resolved again. A later customer message opens the thread again."""
    for _ in range(MAX_ATTEMPTS):
        try:
            doc = client.get(index=layout.threads, id=key)
        except NotFoundError:
            return None
        thread = thread_from_document(doc["_source"])
        done = resolve(thread, at)
        if done == thread:
            return thread
        source = thread_document(done, doc["_source"].get("message"), service(done, policy, at))
        try:
            client.index(
                index=layout.threads,
                id=key,
                document=source,
                if_seq_no=doc["_seq_no"],
                if_primary_term=doc["_primary_term"],
                refresh="wait_for",
            )
        except ConflictError:
            continue
        return done
    raise RuntimeError(f"thread {key} kept changing while it was being resolved; try again")

"""Signals the knowledge app sends.

``document_finished(sender=Document, document_id, status)``: a document reached SUCCESS, FAILURE
or REVOKED (sent inside the transition's transaction; a receiver that sends work should do it
after commit). media_learning's dispatcher queues the document's webhook on it.

``document_queued(sender=Document, document_id, task_id, priority)``: a document is PENDING under
``task_id`` and wants processing (an upload, a reprocess, the reaper). media_learning's
dispatcher sends the pipeline's first task on it, after commit; with no receiver the document
waits PENDING.
"""

from django.dispatch import Signal

document_finished = Signal()
document_queued = Signal()

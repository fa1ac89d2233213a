"""Signals the knowledge app sends.

``document_finished(sender=Document, document_id, status)``: a document reached SUCCESS, FAILURE
or REVOKED (sent inside the transition's transaction; a receiver that sends work should do it
after commit). media_learning's dispatcher queues the document's webhook on it.
"""

from django.dispatch import Signal

document_finished = Signal()

"""Questions put to a knowledge base, answered by an LLM from the passages that search finds.

- ``passages``: what the model is given: the hybrid search's relevant hits with their
  neighbouring paragraphs, numbered, within the model's context window.
- ``citations``: the [n] markers of an answer mapped back to paragraphs and their moments;
  numbers the model was not given are dropped and reported.
- ``service``: one question end to end (``answer`` for one JSON answer, ``stream`` for its text as
  it is written), recorded as a ``knowledge.Question`` with the tokens used. The API
  (``knowledge/api/ask.py``), ``manage.py ask`` and the web page call it.
"""

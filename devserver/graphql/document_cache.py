"""Remembers parsed and cleanly validated documents, per operation text.

Clients send the same few operation texts over and over, and parsing plus validating them was
three quarters of a ``submitJob``'s CPU time (``make bench``, docs/benchmarks.md). Both are pure
functions of the text and the (fixed) schema, so the answer is the same; only documents that
validated cleanly are remembered, so every invalid request still gets freshly built errors from
strawberry's own code path.

Why not strawberry's ``ParserCache`` + ``ValidationCache``: measured back to back (``make bench``
``--only submit``), they cost 2.18 ms of server CPU per ``submitJob`` against 1.57 ms with this
cache (409 vs 570 req/s). ``ValidationCache`` keys an ``lru_cache`` on the document itself, and
graphql-core 3.3's frozen-dataclass nodes hash by walking the whole tree on every request; this
cache keys on the text and checks the document by identity.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from graphql import DocumentNode
from strawberry.extensions import SchemaExtension

#: Distinct operation texts remembered (least recently used beyond that are forgotten).
DOCUMENT_CACHE_SIZE = 256


class _Prepared:
    """One operation text's parsed document and the (schema, rules) it validated cleanly against."""

    __slots__ = ("document", "valid_for")

    def __init__(self, document: DocumentNode) -> None:
        self.document = document
        self.valid_for: set[tuple[Any, tuple[Any, ...]]] = set()


class DocumentCache:
    """A bounded LRU of operation text -> ``_Prepared``; safe to share between threads."""

    def __init__(self, maxsize: int = DOCUMENT_CACHE_SIZE) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[str, _Prepared] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, query: str) -> _Prepared | None:
        with self._lock:
            entry = self._entries.get(query)
            if entry is not None:
                self._entries.move_to_end(query)
            return entry

    def put(self, query: str, document: DocumentNode) -> _Prepared:
        with self._lock:
            entry = self._entries.get(query)
            if entry is None or entry.document is not document:
                entry = _Prepared(document)
                self._entries[query] = entry
            self._entries.move_to_end(query)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
            return entry

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


DOCUMENTS = DocumentCache()


class DocumentCacheExtension(SchemaExtension):
    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        query = context.query
        cacheable = isinstance(query, str) and context.graphql_document is None and not context.parse_options
        entry = DOCUMENTS.get(query) if cacheable else None  # type: ignore[arg-type]
        if entry is not None:
            context.graphql_document = entry.document  # strawberry skips parsing when a document is set
        yield
        # A miss was parsed by strawberry itself (so parse errors are exactly its own); remember it.
        if cacheable and entry is None and context.graphql_document is not None:
            DOCUMENTS.put(query, context.graphql_document)  # type: ignore[arg-type]

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        query = context.query
        entry = DOCUMENTS.get(query) if isinstance(query, str) else None
        if entry is not None and entry.document is not context.graphql_document:
            entry = None
        # The strawberry schema itself (public on the execution context) stands for the graphql-core
        # schema it built: one per strawberry schema, so the key means the same.
        key = (context.schema, tuple(context.validation_rules))
        if entry is not None and context.pre_execution_errors is None and key in entry.valid_for:
            context.pre_execution_errors = []  # validated cleanly before: strawberry skips validation
            yield
            return
        yield
        if entry is not None and context.pre_execution_errors == []:
            entry.valid_for.add(key)

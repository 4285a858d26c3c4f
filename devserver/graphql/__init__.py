"""The GraphQL side of the local server.

``schema`` mirrors schema.graphql in strawberry and resolves every root field through
``lambda_invoke`` (the deployed resolver Lambda, fed the event AppSync would send); ``http_graphql``
is ``POST /graphql`` with AppSync's HTTP semantics; ``context`` is the per-request state resolvers
get, built by every transport; ``errors``, ``scalars``, ``selection`` and ``document_cache`` are
what those share. (Named after the concern; absolute imports keep ``graphql`` meaning graphql-core
everywhere else.)
"""

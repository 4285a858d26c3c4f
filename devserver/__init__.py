"""The local AppSync-compatible server: the same resolver and worker Lambdas behind AppSync's endpoints.

Rooms, by concern (each package's docstring says more):

- ``auth/``: who is calling - API key, SigV4, the local user pool, the schema's auth directives, TLS
- ``graphql/``: the strawberry schema, ``POST /graphql`` and the resolver Lambda invocation
- ``realtime/``: subscriptions - AppSync's real-time protocol, ``graphql-transport-ws``, pub/sub, filters
- ``queues/``: the SQLite queue as a Lambda event source (SQS-shaped events for the worker)
- ``routes/``: the other HTTP routes - artifact transfers, ``/metrics``, the web console

At the top stay the files that compose the rooms: ``app.py`` (the ASGI app), ``runtime.py`` (the
running process), ``state.py`` (what every handler shares) and ``object_id_cache.py`` (used by
more than one room).
"""

"""The local server's HTTP routes beyond the GraphQL endpoints: artifact uploads and downloads
(``artifacts``, standing in for S3 presigned URLs), Prometheus ``/metrics`` and the web console.

(Not ``http/``: ``POST /graphql`` is HTTP too but belongs to ``graphql/``, and the name would read
like the standard library's ``http``.)"""

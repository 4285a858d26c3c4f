"""Who is calling the local server, and what they may touch.

Credentials are checked the way AppSync checks them (``identity``: API key, ``sigv4``, tokens from
the local Cognito-shaped ``user_pool``); ``auth_rules`` reads the schema's auth directives and
``auth_extension`` enforces them on every resolved field; ``tls`` makes the certificate that lets
browsers and SDKs reach the server over HTTPS/WSS.
"""

"""The SQLite job queue as a Lambda event source: ``event_source`` leases messages, hands them to the
worker Lambda as SQS events (``sqs_events``) and leaves partial batch failures to reappear, as
Lambda's SQS event source mapping does."""

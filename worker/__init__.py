"""The SQS-triggered worker Lambda, its dead-letter handler and the reaper."""

"""The heap-dump pipeline: file records, uploads, analysis backends, retries, reports."""

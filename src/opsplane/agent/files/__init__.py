"""Heap dumps on this host: watch rules' directories, announce finished files, upload them.

`pipeline.FilePipeline` wires the parts: `watcher` (polling, stability), `known` (per-file
state in the state dir), `uploader` + `transfer` (resumable chunked uploads), `after`
(keep / delete / compress once confirmed), `notices` (spooled to the server).
"""

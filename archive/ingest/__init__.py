"""Ingest: from a shared folder to documents in the index.

    scan        what files there are (links, lock files, unreadable folders, odd names)
    prepare     one file to a Document in a worker process (readers, metadata), with its extractor version
    pipeline    a whole run: what changed, workers, the one writer

It uses the readers and metadata (the reading layer) and writes through archive.search's IndexUpdate;
the index never imports it.
"""

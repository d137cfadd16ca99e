"""The index schema and its version.

SCHEMA_VERSION is stored with the index (in the name of its folder). A change to fields or analyzers
bumps it; an index of another version is then rebuilt by the next `archive index`, never misread.
(The extractor version, stored with every document, is archive.ingest.extractor.EXTRACTOR_VERSION.)
"""

from __future__ import annotations

from whoosh.columns import NumericColumn, VarBytesColumn
from whoosh.fields import COLUMN, ID, NUMERIC, Schema

from archive.search.analysis import BigramBody, BigramText
from archive.search.snapshot import SCHEMA_VERSION  # kept there, whoosh-free: cold commands read it

__all__ = ["SCHEMA_VERSION", "build_schema"]


def build_schema() -> Schema:
    return Schema(
        # Nothing is a stored field: whoosh compresses each document's stored fields with zlib in the
        # one writer process, whose set-up cost about a millisecond a document there; what is read back
        # is read from columns (and records files).
        path=ID(unique=True, sortable=True),
        doc_id=ID(unique=True),
        kind=ID(sortable=True),  # "doc", or "failed" for a file that could not be read
        sha256=ID(sortable=True),
        # columns only: read for every file on each run, never searched
        size=COLUMN(NumericColumn("Q")),
        mtime_ns=COLUMN(NumericColumn("Q")),
        extractor=COLUMN(NumericColumn("I")),
        text=BigramBody(),  # the body as queries name it: no postings; phrases are found in suffix files
        normalised=COLUMN(VarBytesColumn()),  # the body's normalised text, UTF-8
        title=BigramText(),
        people=BigramText(),  # speaker and role
        date_key=NUMERIC(int, 32, sortable=True),  # yyyymmdd, 0 where unknown, month/day 0 when not given
        record=COLUMN(VarBytesColumn()),  # archive.document.Document.to_record(), pickled: metadata and paragraphs
        summary=COLUMN(VarBytesColumn()),  # the listing metadata as JSON: list and stats read only this
        sketch=COLUMN(VarBytesColumn()),  # the text's shingle sketch (archive.versions): finds versions of a speech
    )

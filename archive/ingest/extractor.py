"""The extractor version, in a module of its own: an unchanged re-run compares it with every
indexed file's, and must not import the readers to do so."""

# Stored with every document; a change to readers or metadata extraction bumps it, and the next
# `archive index` reads again the documents an older one extracted.
EXTRACTOR_VERSION = 2  # 2: .doc/.wps/.ofd/scans/images, encodings, pinyin notes, extraction spaces

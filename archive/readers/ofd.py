"""`.ofd` (GB/T 33190, the national layout format offices issue documents in): a zip of XML.

`OFD.xml` names each document's root (`Doc_0/Document.xml`), which lists its pages; each page's
`Content.xml` holds text objects (`TextObject` with a `Boundary` and `TextCode` runs positioned in
millimetres, y growing downwards). Text is read in reading order from those positions, through the
same line and paragraph rebuilding as a PDF (archive.readers.pagelines), with page numbers.

Written here rather than taken from a library: the one on PyPI (easyofd) renders OFD to images and
PDF through PyMuPDF and OpenCV, and has no text reading in reading order. A page with no text and an image on it (a scan kept as OFD) is
read by OCR, like a scanned PDF page.
"""

from __future__ import annotations

import contextlib
import io
import posixpath
import re
import zipfile
from pathlib import Path

from lxml import etree

from archive.document import Extracted
from archive.readers import ocr
from archive.readers.base import UnreadableFile, check_not_empty, check_zip
from archive.readers.pagelines import Line, drop_running_lines, lines_from_pieces, paragraphs_of_pages

MAX_PAGES = 5000
SCANNED_BELOW = 20  # a page with fewer text characters than this and an image on it is a scan: OCR
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=False)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(element, name: str):
    return [child for child in element.iter() if _local(child.tag) == name]


def _numbers(value: str | None) -> list[float]:
    return [float(n) for n in _NUMBER.findall(value or "")]


def _delta_width(value: str | None, count: int, size: float) -> float:
    """The advance of a TextCode's characters: DeltaX lists gaps (`g N D` repeats D N times)."""
    if not value:
        return count * size
    gaps: list[float] = []
    tokens = value.split()
    i = 0
    while i < len(tokens):
        if tokens[i] == "g" and i + 2 < len(tokens):
            gaps.extend([float(tokens[i + 2])] * int(float(tokens[i + 1])))
            i += 3
        else:
            with contextlib.suppress(ValueError):
                gaps.append(float(tokens[i]))
            i += 1
    return sum(gaps[: max(0, count - 1)]) + size


class _Package:
    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive
        self.names = {name.lstrip("/"): name for name in archive.namelist()}

    def xml(self, name: str):
        member = self.names.get(name.lstrip("/"))
        if member is None:
            raise UnreadableFile(f"damaged OFD: {name} is missing")
        try:
            return etree.fromstring(self.archive.read(member), _PARSER)
        except etree.XMLSyntaxError as error:
            raise UnreadableFile(f"damaged OFD: {name}: {str(error)[:100]}") from None


def _resolve(base_folder: str, location: str) -> str:
    location = location.strip().replace("\\", "/")
    if location.startswith("/"):
        return location.lstrip("/")
    return posixpath.normpath(posixpath.join(base_folder, location))


def read(path: Path) -> Extracted:
    check_not_empty(path)
    with path.open("rb") as handle:
        if not handle.read(2) == b"PK":
            raise UnreadableFile("not an OFD document: the file is not a zip package")
    check_zip(path, ".ofd")
    with zipfile.ZipFile(path) as archive:
        package = _Package(archive)
        root = package.xml("OFD.xml")
        doc_roots = [e.text.strip() for e in _children(root, "DocRoot") if e.text and e.text.strip()]
        if not doc_roots:
            raise UnreadableFile("damaged OFD: OFD.xml names no document (DocRoot)")
        titles = [e.text.strip() for e in _children(root, "Title") if e.text and e.text.strip()]
        authors = [e.text.strip() for e in _children(root, "Author") if e.text and e.text.strip()]
        pages: list[list[Line]] = []
        scanned = [0]
        for doc_root in doc_roots:
            pages.extend(_document_pages(package, _resolve("", doc_root), scanned))
    if len(pages) == 0:
        raise UnreadableFile("damaged OFD: the document has no pages")
    drop_running_lines(pages)
    properties = {"title": titles[0] if titles else None, "author": authors[0] if authors else None, "created": None}
    return Extracted(paragraphs=paragraphs_of_pages(pages), pages=len(pages), properties=properties,
                     ocr_pages=scanned[0])


def _document_pages(package: _Package, document_name: str, scanned: list[int]) -> list[list[Line]]:
    document = package.xml(document_name)
    folder = posixpath.dirname(document_name)
    box = next((_numbers(e.text) for e in _children(document, "PhysicalBox")), [])
    page_width = box[2] if len(box) >= 4 else 210.0
    media = _media(package, document, folder)
    pages: list[list[Line]] = []
    for page in _children(document, "Page")[:MAX_PAGES]:
        location = page.get("BaseLoc")
        if not location:
            continue
        content = package.xml(_resolve(folder, location))
        own_box = next((_numbers(e.text) for e in _children(content, "PhysicalBox")), [])
        width = own_box[2] if len(own_box) >= 4 else page_width
        pieces = _text_pieces(content, width)
        if sum(len(piece.text) for piece in pieces) < SCANNED_BELOW:
            images = _image_pieces(package, content, media, width)
            if images is not None:
                pieces, scanned[0] = images, scanned[0] + 1
        pages.append(lines_from_pieces(pieces))
    return pages


def _media(package: _Package, document, folder: str) -> dict[str, str]:
    """Resource id → the image file it names, from the document's resource files (DocumentRes,
    PublicRes), whose BaseLoc says which folder the files are in."""
    found: dict[str, str] = {}
    for tag in ("DocumentRes", "PublicRes"):
        for element in _children(document, tag):
            if not element.text or not element.text.strip():
                continue
            name = _resolve(folder, element.text)
            try:
                resources = package.xml(name)
            except UnreadableFile:
                continue
            base = _resolve(posixpath.dirname(name), resources.get("BaseLoc") or "")
            for medium in _children(resources, "MultiMedia"):
                files = [e.text.strip() for e in _children(medium, "MediaFile") if e.text and e.text.strip()]
                if medium.get("ID") and files:
                    found[medium.get("ID")] = _resolve(base, files[0])
    return found


def _image_pieces(package: _Package, content, media: dict[str, str], page_width: float) -> list[Line] | None:
    """A scanned page: OCR of its largest image, in page millimetres; None if it has no image."""
    from PIL import Image

    best = None
    for image_object in _children(content, "ImageObject"):
        boundary = _numbers(image_object.get("Boundary"))
        name = media.get(image_object.get("ResourceID") or "")
        if len(boundary) >= 4 and name and (best is None or boundary[2] * boundary[3] > best[0][2] * best[0][3]):
            best = (boundary, name)
    if best is None:
        return None
    (left, top, width, _), name = best
    member = package.names.get(name.lstrip("/"))
    if member is None:
        return None
    try:
        with Image.open(io.BytesIO(package.archive.read(member))) as image:
            image.load()
            scale = image.width / width if width else 1.0
            pieces = ocr.page_pieces(image, pixels_per_unit=scale)
    except (OSError, Image.DecompressionBombError):
        return None
    return [Line(p.text, p.left + left, p.right + left, p.top - top, p.bottom - top, page_width) for p in pieces]


def _text_pieces(content, page_width: float) -> list[Line]:
    """One piece per TextCode, in page millimetres with the y axis flipped (top > bottom)."""
    pieces: list[Line] = []
    for text_object in _children(content, "TextObject"):
        boundary = _numbers(text_object.get("Boundary"))
        if len(boundary) < 4:
            continue
        left, top = boundary[0], boundary[1]
        size = float((_numbers(text_object.get("Size")) or [boundary[3] or 3.5])[0])
        for code in _children(text_object, "TextCode"):
            text = "".join(code.itertext())
            if not text.strip():
                continue
            x = left + float((_numbers(code.get("X")) or [0.0])[0])
            baseline = top + float((_numbers(code.get("Y")) or [size])[0])
            width = _delta_width(code.get("DeltaX"), len(text), size)
            pieces.append(Line(text, x, x + width, -(baseline - size), -baseline, page_width))
    return pieces

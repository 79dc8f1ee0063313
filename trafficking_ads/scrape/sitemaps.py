"""Sitemaps (sitemaps.org protocol): a `urlset` lists pages, a `sitemapindex` lists more sitemaps.

Parsed with lxml with network access and entity expansion off, gzip-compressed sitemaps
(`sitemap.xml.gz`) decompressed with a size cap so a small file cannot inflate without bound.
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass, field

from lxml import etree

from ..errors import InvalidValueError

MAX_UNCOMPRESSED = 50 * 1024 * 1024  # the protocol's own limit for one sitemap file


@dataclass
class Sitemap:
    """One parsed sitemap: `kind` is "urlset" or "index"; `entries` are (loc, lastmod or None)."""

    kind: str
    entries: list[tuple[str, str | None]] = field(default_factory=list)


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def safe_xml_parser() -> etree.XMLParser:
    """An lxml parser that never fetches DTDs or expands external entities (XXE-safe) and recovers from junk."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, recover=True, huge_tree=False)


def xml_root(content: bytes) -> etree._Element | None:
    """The root element of an XML document, or None if `content` is not XML (e.g. an HTML page)."""
    head = content.lstrip()[:1]
    if head != b"<" and not content.startswith(b"\xef\xbb\xbf"):
        return None
    try:
        root = etree.fromstring(content, parser=safe_xml_parser())
    except etree.XMLSyntaxError:
        return None
    return root


def maybe_gunzip(content: bytes) -> bytes:
    """Decompress gzip content (a `.xml.gz` sitemap), at most MAX_UNCOMPRESSED bytes; other content as is."""
    if not content.startswith(b"\x1f\x8b"):
        return content
    with gzip.GzipFile(fileobj=io.BytesIO(content)) as f:
        data = f.read(MAX_UNCOMPRESSED + 1)
    if len(data) > MAX_UNCOMPRESSED:
        raise InvalidValueError(f"gzip sitemap inflates beyond {MAX_UNCOMPRESSED} bytes")
    return data


def parse_sitemap(content: bytes) -> Sitemap | None:
    """Parse a sitemap or sitemap index; None if the document is not one."""
    root = xml_root(maybe_gunzip(content))
    if root is None:
        return None
    kind = {"urlset": "urlset", "sitemapindex": "index"}.get(_local(root.tag))
    if kind is None:
        return None
    out = Sitemap(kind)
    for child in root:
        if _local(child.tag) not in ("url", "sitemap"):
            continue
        loc = lastmod = None
        for el in child:
            name = _local(el.tag)
            if name == "loc" and el.text:
                loc = el.text.strip()
            elif name == "lastmod" and el.text:
                lastmod = el.text.strip()
        if loc:
            out.entries.append((loc, lastmod))
    return out

"""RSS 2.0, RSS 1.0 (RDF) and Atom feeds: the entries' links are the ad pages to fetch.

Each entry's title, summary, date and id are parsed too, for callers that want the feed
itself; the crawler only follows the links (the page is richer than its summary).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from .sitemaps import _local, xml_root


@dataclass
class FeedEntry:
    """One item of a feed."""

    link: str | None
    title: str | None = None
    summary: str | None = None
    published: str | None = None
    id: str | None = None


@dataclass
class Feed:
    """A parsed feed: `kind` is "rss", "rdf" or "atom"."""

    kind: str
    title: str | None = None
    entries: list[FeedEntry] = field(default_factory=list)


def _text(el: etree._Element | None) -> str | None:
    if el is None:
        return None
    text = "".join(el.itertext()).strip()
    return text or None


def _child(parent: etree._Element, *names: str) -> etree._Element | None:
    for name in names:
        for el in parent:
            if _local(el.tag) == name:
                return el
    return None


def _atom_link(entry: etree._Element) -> str | None:
    links = [el for el in entry if _local(el.tag) == "link"]
    for el in links:  # rel="alternate" (or no rel) is the entry's page
        if el.get("rel", "alternate") == "alternate" and el.get("href"):
            return el.get("href").strip()
    return links[0].get("href", "").strip() or None if links else None


def parse_feed(content: bytes) -> Feed | None:
    """Parse an RSS/RDF/Atom feed; None if the document is not a feed."""
    root = xml_root(content)
    if root is None:
        return None
    top = _local(root.tag)
    if top == "rss":
        channel = _child(root, "channel")
        if channel is None:
            return Feed("rss")
        feed = Feed("rss", _text(_child(channel, "title")))
        items = [el for el in channel if _local(el.tag) == "item"]
    elif top == "RDF":
        feed = Feed("rdf", _text(_child(_child(root, "channel") or root, "title")))
        items = [el for el in root if _local(el.tag) == "item"]
    elif top == "feed":
        feed = Feed("atom", _text(_child(root, "title")))
        for entry in (el for el in root if _local(el.tag) == "entry"):
            feed.entries.append(
                FeedEntry(
                    link=_atom_link(entry),
                    title=_text(_child(entry, "title")),
                    summary=_text(_child(entry, "content", "summary")),
                    published=_text(_child(entry, "published", "updated")),
                    id=_text(_child(entry, "id")),
                )
            )
        return feed
    else:
        return None
    for item in items:
        link = _text(_child(item, "link"))
        guid = _child(item, "guid")
        if not link and guid is not None and guid.get("isPermaLink", "true") != "false":
            link = _text(guid)
        feed.entries.append(
            FeedEntry(
                link=link,
                title=_text(_child(item, "title")),
                summary=_text(_child(item, "description", "encoded")),
                published=_text(_child(item, "pubDate", "date")),
                id=_text(guid),
            )
        )
    return feed

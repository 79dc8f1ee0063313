"""From a fetched HTML page to Ads: charset, schema.org JobPosting, else the page's main text.

Order of preference: schema.org `JobPosting` in JSON-LD or microdata (read with extruct: the
publisher's own structured fields, so company, salary and location come out exact), otherwise
the main text found by trafilatura plus the page `<title>`. Links, `<link rel=canonical>`,
`rel=next` and `<html lang>` are read from the same lxml tree.
"""

from __future__ import annotations

import codecs
import html as htmllib
import re
from dataclasses import dataclass
from typing import Any, Iterator
from urllib.parse import urldefrag, urljoin

import lxml.html

from ..errors import TraffickingAdsError
from ..records import Ad, content_id

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.\-]+)""", re.I)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_.\-]+)["']""", re.I)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9_:.\-]+)""", re.I)


class UndecodablePage(TraffickingAdsError, ValueError):
    """A page that declares a charset which is not a text encoding (`zlib`, `base64`, `rot13`)."""


def _codec(name: str | None) -> str | None:
    """The codec's canonical name; None if unknown; UndecodablePage if it is not a text encoding."""
    if not name:
        return None
    try:
        info = codecs.lookup(name.strip().lower())
    except LookupError:
        return None
    if not getattr(info, "_is_text_encoding", True):
        raise UndecodablePage(f"declared charset {name.strip()!r} is not a text encoding")
    return info.name


def detect_charset(content: bytes, content_type: str | None = None) -> str:
    """The page's encoding, by the HTML rules: BOM, then the HTTP header, then `<meta charset>` or
    `<meta http-equiv="Content-Type">` in the first 4 KB; with no declaration, UTF-8 if the
    bytes are valid UTF-8, else Windows-1251 (the legacy default of Russian-language sites)."""
    for bom, name in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if content.startswith(bom):
            return name
    if content_type:
        m = _HEADER_CHARSET.search(content_type)
        if m and (name := _codec(m.group(1))):
            return name
    head = content[:4096]
    for pattern in (_META_CHARSET, _XML_DECL):
        m = pattern.search(head)
        if m and (name := _codec(m.group(1).decode("ascii", "ignore"))):
            # A page that says utf-16 in an ASCII-compatible meta tag cannot be utf-16.
            return "utf-8" if name.startswith("utf-16") else name
    try:
        content.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1251"


def decode_html(content: bytes, content_type: str | None = None) -> str:
    """Bytes to text using `detect_charset` (undecodable bytes become U+FFFD rather than failing);
    raises UndecodablePage for a page that declares a non-text charset."""
    charset = detect_charset(content, content_type)
    text = content.decode(charset, "replace")
    return text[1:] if text.startswith("\ufeff") else text


def parse_html(text: str, url: str) -> lxml.html.HtmlElement:
    """An lxml tree of `text` (an XML declaration, which lxml refuses in str input, is dropped)."""
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)
    if not text.strip():
        text = "<html></html>"
    tree = lxml.html.document_fromstring(text, base_url=url)
    return tree


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment (a JobPosting description), with paragraphs and <br> as newlines.

    Handles descriptions that arrive entity-escaped (`&lt;p&gt;...`), which many boards emit.
    """
    if not fragment:
        return ""
    s = fragment
    if "&lt;" in s or "&gt;" in s:
        s = htmllib.unescape(s)
    if "<" in s and ">" in s:
        import html_text

        s = html_text.extract_text(s, guess_layout=True)
    else:
        s = htmllib.unescape(s)
    return re.sub(r"[ \t\u00a0]+\n", "\n", s).strip()


# ---------------------------------------------------------------- links


def page_links(tree: lxml.html.HtmlElement, url: str) -> list[str]:
    """Every absolute http(s) link target on the page (`<base href>` honoured), fragments removed, in order."""
    base = _base(tree, url)
    out, seen = [], set()
    for el in tree.iter("a", "area"):
        link = _abs(base, el.get("href"))
        if link and link not in seen:
            seen.add(link)
            out.append(link)
    return out


def _base(tree: lxml.html.HtmlElement, url: str) -> str:
    base = tree.find(".//base[@href]")
    return urljoin(url, base.get("href").strip()) if base is not None else url


def _abs(base: str, href: str | None) -> str | None:
    if not href:
        return None
    link = urldefrag(urljoin(base, href.strip()))[0]
    return link if link.lower().startswith(("http://", "https://")) else None


def select_links(
    tree: lxml.html.HtmlElement, url: str, css: str | None = None, pattern: re.Pattern[str] | None = None
) -> list[str]:
    """Links chosen by a CSS selector (elements with href, or `a` inside them) and/or a regex on the absolute URL."""
    base = _base(tree, url)
    if css:
        candidates: list[str] = []
        for el in tree.cssselect(css):
            anchors = [el] if el.get("href") is not None else el.iter("a")
            for a in anchors:
                link = _abs(base, a.get("href"))
                if link:
                    candidates.append(link)
    else:
        candidates = page_links(tree, url)
    if pattern is not None:
        candidates = [c for c in candidates if pattern.search(c)]
    return list(dict.fromkeys(candidates))


def rel_links(tree: lxml.html.HtmlElement, url: str, rel: str) -> list[str]:
    """Targets of `<link rel=...>` / `<a rel=...>` (e.g. "next", "canonical")."""
    base = _base(tree, url)
    out = []
    for el in tree.iter("link", "a"):
        if rel in (el.get("rel") or "").lower().split():
            link = _abs(base, el.get("href"))
            if link:
                out.append(link)
    return list(dict.fromkeys(out))


def canonical_url(tree: lxml.html.HtmlElement, url: str) -> str | None:
    """The page's `<link rel=canonical>` target, if any."""
    base = _base(tree, url)
    for el in tree.iter("link"):
        if "canonical" in (el.get("rel") or "").lower().split():
            return _abs(base, el.get("href"))
    return None


def page_title(tree: lxml.html.HtmlElement) -> str | None:
    """The `<title>` text, else og:title, else the first `<h1>`."""
    el = tree.find(".//title")
    if el is not None and (t := " ".join((el.text_content() or "").split())):
        return t
    for meta in tree.iter("meta"):
        if meta.get("property") == "og:title" and meta.get("content"):
            return meta.get("content").strip()
    h1 = tree.find(".//h1")
    if h1 is not None and (t := " ".join(h1.text_content().split())):
        return t
    return None


def page_language(tree: lxml.html.HtmlElement) -> str | None:
    """The primary subtag of `<html lang>` (e.g. "ru" from "ru-KZ"), lower-case."""
    lang = (tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang") or "").strip()
    return lang.split("-")[0].lower() or None if lang else None


# ---------------------------------------------------------------- schema.org JobPosting


def _types(item: dict[str, Any]) -> list[str]:
    t = item.get("@type", [])
    types = t if isinstance(t, list) else [t]
    return [str(x).rsplit("/", 1)[-1] for x in types]


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every dict in a JSON-LD structure (@graph, lists and nested values included)."""
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


def job_postings(tree: lxml.html.HtmlElement, url: str) -> list[tuple[str, dict[str, Any]]]:
    """schema.org JobPosting items on the page as (syntax, item), JSON-LD first, then microdata."""
    import extruct

    data = extruct.extract(tree, base_url=url, syntaxes=["json-ld", "microdata"], uniform=True, errors="ignore")
    out = []
    for syntax in ("json-ld", "microdata"):
        for item in _walk(data.get(syntax, [])):
            if "JobPosting" in _types(item):
                out.append((syntax, item))
    return out


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def _str(value: Any) -> str | None:
    """A display string from a schema.org value that may be a string, a number, a Thing or a list."""
    if value is None:
        return None
    if isinstance(value, list):
        parts = [s for s in (_str(v) for v in value) if s]
        return "; ".join(dict.fromkeys(parts)) or None
    if isinstance(value, dict):
        for key in ("name", "@value", "value", "text"):
            if key in value:
                return _str(value[key])
        return None
    s = " ".join(str(value).split())
    return s or None


def _address(addr: Any) -> str | None:
    if isinstance(addr, str):
        return _str(addr)
    if not isinstance(addr, dict):
        return _str(addr)
    parts = [
        _str(addr.get(k)) for k in ("streetAddress", "addressLocality", "addressRegion", "postalCode", "addressCountry")
    ]
    text = ", ".join(p for p in parts if p)
    return text or _str(addr.get("name"))


def _location(value: Any) -> str | None:
    places = value if isinstance(value, list) else [value]
    out = []
    for place in places:
        if isinstance(place, dict):
            text = _address(place.get("address")) or _str(place.get("name"))
        else:
            text = _str(place)
        if text:
            out.append(text)
    return "; ".join(dict.fromkeys(out)) or None


def _number(value: Any) -> str | None:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return _str(value)


def _salary(value: Any) -> str | None:
    """ "150000–250000 KZT per MONTH" from a MonetaryAmount (or the value itself if it is plain)."""
    value = _first(value)
    if not isinstance(value, dict):
        return _number(value)
    currency = _str(value.get("currency")) or ""
    inner = value.get("value")
    unit = ""
    if isinstance(inner, dict):
        unit = _str(inner.get("unitText")) or ""
        lo, hi, exact = inner.get("minValue"), inner.get("maxValue"), inner.get("value")
    else:
        lo, hi, exact = value.get("minValue"), value.get("maxValue"), inner
    if exact is not None:
        amount = _number(exact)
    elif lo is not None and hi is not None:
        amount = f"{_number(lo)}–{_number(hi)}"
    elif lo is not None:
        amount = f"from {_number(lo)}"
    elif hi is not None:
        amount = f"up to {_number(hi)}"
    else:
        amount = None
    if amount is None:
        return None
    return " ".join(p for p in (amount, currency, f"per {unit}" if unit else "") if p)


def _contacts(value: Any) -> str | None:
    value = _first(value)
    if not isinstance(value, dict):
        return _str(value)
    parts = [_str(value.get(k)) for k in ("telephone", "email", "url")]
    return "; ".join(p for p in parts if p) or None


def job_posting_to_ad(
    item: dict[str, Any], page_url: str, source: str | None, syntax: str, language: str | None = None
) -> Ad:
    """Map a schema.org JobPosting to an Ad (description HTML stripped into `text`)."""
    org = _first(item.get("hiringOrganization"))
    if isinstance(org, dict):
        company_name = _str(org.get("name"))
        company_website = _str(_first(org.get("sameAs"))) or _str(org.get("url"))
        company_profile = html_to_text(_str(org.get("description")) or "") or None
    else:
        company_name, company_website, company_profile = _str(org), None, None
    meta: dict[str, Any] = {"extracted_from": syntax, "page_url": page_url}
    for key, name in (
        ("employmentType", "employment_type"),
        ("validThrough", "valid_through"),
        ("industry", "industry"),
        ("jobLocationType", "job_location_type"),
        ("identifier", "identifier"),
    ):
        v = _str(item.get(key))
        if v:
            meta[name] = v
    description = item.get("description")
    text = html_to_text(description if isinstance(description, str) else _str(description) or "")
    item_url = _str(item.get("url"))
    url = urljoin(page_url, item_url) if item_url and item_url.lower().startswith(("http", "/")) else page_url
    location = _location(item.get("jobLocation"))
    if not location and meta.get("job_location_type") == "TELECOMMUTE":
        location = "remote"
    return Ad(
        text=text,
        title=_str(item.get("title")) or _str(item.get("name")),
        company_name=company_name,
        company_profile=company_profile,
        company_website=company_website,
        location=location,
        salary=_salary(item.get("baseSalary")) or _salary(item.get("estimatedSalary")),
        contacts=_contacts(item.get("applicationContact")),
        url=url,
        source=source,
        posted_at=_str(item.get("datePosted")),
        language=_str(item.get("inLanguage")) or language,
        meta=meta,
        raw=item,
    )


def main_text_ad(html_text_: str, tree: lxml.html.HtmlElement, page_url: str, source: str | None) -> Ad | None:
    """The fallback Ad: trafilatura's main text and the page title (None if the page has no main text)."""
    import trafilatura

    text = trafilatura.extract(html_text_, url=page_url, include_comments=False, include_tables=True, favor_recall=True)
    if not text or not text.strip():
        return None
    return Ad(
        text=text.strip(),
        title=page_title(tree),
        url=page_url,
        source=source,
        language=page_language(tree),
        meta={"extracted_from": "main-text", "page_url": page_url},
    )


@dataclass
class HtmlPage:
    """What the crawler needs from an HTML page, parsed once."""

    url: str
    text: str
    tree: lxml.html.HtmlElement
    canonical: str | None = None

    @classmethod
    def parse(cls, content: bytes, url: str, content_type: str | None = None) -> "HtmlPage":
        text = decode_html(content, content_type)
        tree = parse_html(text, url)
        return cls(url=url, text=text, tree=tree, canonical=canonical_url(tree, url))

    def structured_ads(self, source: str | None) -> list[Ad]:
        """Ads from the page's JobPosting items (empty if it has none)."""
        lang = page_language(self.tree)
        page_url = self.canonical or self.url
        ads = [
            job_posting_to_ad(item, page_url, source, syntax, lang)
            for syntax, item in job_postings(self.tree, page_url)
        ]
        for ad in ads:
            if not ad.text:  # a JobPosting without description: the page's main text stands in
                main = main_text_ad(self.text, self.tree, page_url, source)
                ad.text = main.text if main is not None else ""
                ad.id = content_id(ad)
        return ads

    def fallback_ad(self, source: str | None) -> Ad | None:
        """The main-text Ad of a page without structured data."""
        return main_text_ad(self.text, self.tree, self.canonical or self.url, source)


_XML_START = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:rss|feed|urlset|sitemapindex|rdf:RDF)\b", re.S
)


def is_html(content: bytes, content_type: str) -> bool:
    """Whether a response looks like HTML: by its type, or by sniffing when the type is missing or
    generic. Feeds and sitemaps served as text/html (common) are recognised by their root element."""
    if _XML_START.match(content[:2048]):
        return False
    if content_type in ("text/html", "application/xhtml+xml"):
        return True
    if content_type and content_type not in ("text/plain", "application/octet-stream", "binary/octet-stream"):
        return False
    head = content[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<body" in head or b"<head" in head

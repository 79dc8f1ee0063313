"""What to crawl: sources from a YAML file or from URLs on the command line.

A source names its start URLs, the domains the crawl may enter, how ad pages are found on
listing pages (a regex on the link URL and/or a CSS selector), how listing pages continue
(a next-link selector or a URL pattern; `rel=next` links by default), a page limit and a delay.
Validated with pydantic so a bad file is reported as `file: sources.0.ad_links.pattern: why`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import InvalidValueError, TraffickingAdsError
from .fetch import FetchError, check_url


DEFAULT_PORTS = {"http": 80, "https": 443}


class SourceError(TraffickingAdsError, ValueError):
    """A sources file or URL that cannot be used; the message names the file and field."""


def _check_regex(value: str | None) -> str | None:
    if value is not None:
        try:
            re.compile(value)
        except re.error as e:
            raise InvalidValueError(f"not a valid regular expression: {e}") from e
    return value


def _check_css(value: str | None) -> str | None:
    if value is not None:
        from cssselect import GenericTranslator, SelectorError

        try:
            GenericTranslator().css_to_xpath(value)
        except SelectorError as e:
            raise InvalidValueError(f"not a valid CSS selector: {e}") from e
    return value


class LinkRule(BaseModel):
    """Which links on a listing page are ad pages: `css` picks elements, `pattern` (regex, searched in
    the absolute URL) filters them; either or both."""

    model_config = ConfigDict(extra="forbid")
    pattern: str | None = None
    css: str | None = None

    @field_validator("pattern")
    @classmethod
    def _valid_pattern(cls, v: str | None) -> str | None:
        return _check_regex(v)

    @field_validator("css")
    @classmethod
    def _valid_css(cls, v: str | None) -> str | None:
        return _check_css(v)

    @model_validator(mode="after")
    def _one_needed(self) -> "LinkRule":
        if not self.pattern and not self.css:
            raise InvalidValueError("give a pattern (regex) or a css selector")
        return self

    @property
    def regex(self) -> re.Pattern[str] | None:
        return re.compile(self.pattern) if self.pattern else None


class Pagination(BaseModel):
    """How a listing page links to the next one: `next_css` (e.g. "a.next") and/or `pattern` (regex of
    listing-page URLs). With neither, `rel=next` links are followed."""

    model_config = ConfigDict(extra="forbid")
    next_css: str | None = None
    pattern: str | None = None

    @field_validator("pattern")
    @classmethod
    def _valid_pattern(cls, v: str | None) -> str | None:
        return _check_regex(v)

    @field_validator("next_css")
    @classmethod
    def _valid_css(cls, v: str | None) -> str | None:
        return _check_css(v)


class Source(BaseModel):
    """One site, feed, sitemap or Telegram channel to crawl."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    start_urls: list[str] = Field(min_length=1)
    allowed_domains: list[str] = Field(default_factory=list)
    ad_links: LinkRule | None = None
    pagination: Pagination = Field(default_factory=Pagination)
    max_pages: int | None = Field(default=None, ge=1)
    delay: float | None = Field(default=None, ge=0)

    @field_validator("start_urls")
    @classmethod
    def _urls(cls, urls: list[str]) -> list[str]:
        out = []
        for u in urls:
            try:
                out.append(check_url(u))
            except FetchError as e:
                raise InvalidValueError(str(e)) from e
        return out

    @model_validator(mode="after")
    def _domains(self) -> "Source":
        if not self.allowed_domains:
            self.allowed_domains = list(dict.fromkeys(urlsplit(u).hostname or "" for u in self.start_urls))
        self.allowed_domains = [d.lower().lstrip(".") for d in self.allowed_domains]
        return self

    def allows(self, url: str) -> bool:
        """Whether `url` is inside this source's scope: on an allowed domain (subdomains included)
        and with the scheme and port of one of the start URLs (an http start URL also admits
        https on port 443, the usual upgrade redirect). `https://jobs.example.kz` therefore does
        not admit `http://jobs.example.kz:6379/`."""
        try:
            parts = urlsplit(url)
            origin = (parts.scheme.lower(), parts.port or DEFAULT_PORTS.get(parts.scheme.lower()))
        except ValueError:  # a malformed port
            return False
        host = (parts.hostname or "").lower()
        if origin not in self.origins():
            return False
        return any(host == d or host.endswith("." + d) for d in self.allowed_domains)

    def origins(self) -> set[tuple[str, int | None]]:
        """The (scheme, port) pairs this source's requests may use."""
        out = set()
        for u in self.start_urls:
            parts = urlsplit(u)
            scheme = parts.scheme.lower()
            out.add((scheme, parts.port or DEFAULT_PORTS.get(scheme)))
            if scheme == "http" and (parts.port or 80) == 80:
                out.add(("https", 443))
        return out


class SourcesFile(BaseModel):
    """The YAML file: a list of sources plus optional crawl-wide defaults."""

    model_config = ConfigDict(extra="forbid")
    sources: list[Source] = Field(min_length=1)
    delay: float | None = Field(default=None, ge=0)
    concurrency: int | None = Field(default=None, ge=1)
    max_pages: int | None = Field(default=None, ge=1)
    user_agent_contact: str | None = None

    @model_validator(mode="after")
    def _unique(self) -> "SourcesFile":
        names = [s.name for s in self.sources]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise InvalidValueError(f"source names must be unique; repeated: {', '.join(dup)}")
        return self


def _format_errors(path: str, err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        lines.append(f"{path}: {loc}: {e['msg']}")
    return "\n".join(lines)


def load_sources(path: str | Path) -> SourcesFile:
    """Read and validate a sources YAML file; SourceError names the file and field on bad input."""
    import yaml

    path = Path(path)
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise SourceError(f"{path}: no such file") from e
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise SourceError(f"{path}:{where}: not valid YAML: {getattr(e, 'problem', e)}") from e
    if isinstance(data, list):
        data = {"sources": data}
    if not isinstance(data, dict):
        raise SourceError(f"{path}: expected a mapping with a 'sources' list")
    try:
        return SourcesFile.model_validate(data)
    except ValidationError as e:
        raise SourceError(_format_errors(str(path), e)) from e


def sources_from_urls(urls: list[str], follow: list[str] | None = None, max_pages: int | None = None) -> list[Source]:
    """Sources for URLs given on the command line: one per host, named after it; `follow` regexes
    choose the ad links on listing pages."""
    by_host: dict[str, list[str]] = {}
    for u in urls:
        try:
            u = check_url(u)
        except FetchError as e:
            raise SourceError(f"URL {u!r}: {e}") from e
        by_host.setdefault(urlsplit(u).netloc.lower(), []).append(u)
    rule = None
    if follow:
        pattern = follow[0] if len(follow) == 1 else "|".join(f"(?:{p})" for p in follow)
        try:
            rule = LinkRule(pattern=pattern)
        except ValidationError as e:
            raise SourceError(f"--follow {pattern!r}: {e.errors()[0]['msg']}") from e
    return [Source(name=host, start_urls=us, ad_links=rule, max_pages=max_pages) for host, us in by_host.items()]

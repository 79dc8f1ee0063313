"""robots.txt: fetched once per host, parsed with the standard library, consulted before every request.

Why the standard library: `urllib.robotparser` implements the de-facto rules (groups by user
agent, Allow/Disallow, Crawl-delay, Request-rate, Sitemap) and has no dependencies. What it
does not decide is what an unreachable robots.txt means; we follow RFC 9309: a 4xx answer means
"no rules" (crawl allowed), a 5xx answer or a network failure means "assume complete disallow"
for that host during this crawl (the polite choice when the site is struggling).
`Crawl-delay` is read here too, because the standard library drops fractional values (2.5, 0.2).
"""

from __future__ import annotations

import urllib.robotparser
from dataclasses import dataclass, field
from urllib.parse import urlsplit

#: The product token robots.txt groups are matched against (`User-agent: trafficking-ads`).
ROBOTS_AGENT = "trafficking-ads"


def host_key(url: str) -> str:
    """The politeness unit: scheme + host + port (robots.txt applies per origin, RFC 9309)."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def robots_url(url: str) -> str:
    """The robots.txt URL for the origin of `url`."""
    return host_key(url) + "/robots.txt"


@dataclass
class Robots:
    """The parsed rules of one origin; `status` is the HTTP status robots.txt was served with (0 = unreachable)."""

    origin: str
    status: int
    parser: urllib.robotparser.RobotFileParser = field(repr=False)
    #: Crawl-delay per group: (user-agent tokens of the group, seconds), in file order.
    delays: list[tuple[tuple[str, ...], float]] = field(default_factory=list, repr=False)

    @classmethod
    def from_response(cls, origin: str, status: int, text: str) -> "Robots":
        """Build the rules from a fetched robots.txt (any status; see the module doc for 4xx/5xx)."""
        parser = urllib.robotparser.RobotFileParser(origin + "/robots.txt")
        if status in (401, 403):
            # The stdlib treats these as disallow-all; RFC 9309 says 4xx = no rules. Sites that
            # return 403 to unknown agents are telling us something, so we keep the stdlib's caution.
            parser.disallow_all = True
        elif 400 <= status < 500:
            parser.allow_all = True
        elif status >= 500 or status == 0:
            parser.disallow_all = True
        delays: list[tuple[tuple[str, ...], float]] = []
        if not (parser.allow_all or parser.disallow_all):
            lines = text.splitlines()
            parser.parse(lines)
            delays = _crawl_delays(lines)
        parser.modified()
        return cls(origin=origin, status=status, parser=parser, delays=delays)

    def allowed(self, url: str, agent: str = ROBOTS_AGENT) -> bool:
        """Whether `agent` may fetch `url` under these rules."""
        return self.parser.can_fetch(agent, url)

    def crawl_delay(self, agent: str = ROBOTS_AGENT) -> float | None:
        """Seconds between requests asked for by Crawl-delay or Request-rate (None if neither)."""
        token = agent.split("/")[0].lower()
        mine = [d for agents, d in self.delays if any(a != "*" and a in token for a in agents)]
        anyone = [d for agents, d in self.delays if "*" in agents]
        if mine or anyone:
            return (mine or anyone)[0]
        rate = self.parser.request_rate(agent)
        if rate is not None and rate.requests > 0:
            return rate.seconds / rate.requests
        return None

    def sitemaps(self) -> list[str]:
        """Sitemap URLs listed in robots.txt."""
        return list(self.parser.site_maps() or [])


def _crawl_delays(lines: list[str]) -> list[tuple[tuple[str, ...], float]]:
    """Crawl-delay values (fractions too) with the user agents of the group each is in."""
    out: list[tuple[tuple[str, ...], float]] = []
    agents: list[str] = []
    in_rules = False
    for raw in lines:
        line = raw.split("#", 1)[0].strip()
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key, value = key.strip().lower(), value.strip()
        if key == "user-agent":
            if in_rules:
                agents, in_rules = [], False
            agents.append(value.lower())
        elif key in ("allow", "disallow", "crawl-delay", "request-rate", "sitemap"):
            in_rules = in_rules or key != "sitemap"
            if key == "crawl-delay" and agents:
                try:
                    seconds = float(value)
                except ValueError:
                    continue
                if seconds >= 0 and seconds == seconds and seconds != float("inf"):
                    out.append((tuple(agents), seconds))
    return out

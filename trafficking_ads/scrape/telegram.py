"""Telegram public channel web previews (`https://t.me/s/<channel>`): one Ad per message.

Much recruitment in Kazakhstan is posted in Telegram channels. The web preview needs no login
or API key; it shows the latest ~20 messages and links to older ones with `?before=<id>`.
Markup read: `div.tgme_widget_message[data-post="channel/123"]`, its
`div.tgme_widget_message_text` (not the quoted text of a message it replies to), and
`time[datetime]` in the message footer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import lxml.html

from ..records import Ad

_MESSAGE = "//div[contains(concat(' ', normalize-space(@class), ' '), ' tgme_widget_message ')][@data-post]"
_TEXT = (
    ".//div[contains(concat(' ', normalize-space(@class), ' '), ' tgme_widget_message_text ')]"
    "[not(ancestor::*[contains(concat(' ', normalize-space(@class), ' '), ' tgme_widget_message_reply ')])]"
)
_CHANNEL_PATH = re.compile(r"^/s/([A-Za-z0-9_]{3,64})/?$")


@dataclass
class Message:
    """One channel message."""

    channel: str
    id: int
    date: str | None
    text: str
    views: str | None = None
    forwarded_from: str | None = None

    def to_ad(self) -> Ad:
        """The message as an Ad: source "telegram:<channel>", id "tg:<channel>/<id>"."""
        meta = {"extracted_from": "telegram", "channel": self.channel, "message_id": self.id}
        if self.views:
            meta["views"] = self.views
        if self.forwarded_from:
            meta["forwarded_from"] = self.forwarded_from
        return Ad(
            text=self.text,
            id=f"tg:{self.channel}/{self.id}",
            url=f"https://t.me/{self.channel}/{self.id}",
            source=f"telegram:{self.channel}",
            posted_at=self.date,
            meta=meta,
        )


@dataclass
class ChannelPage:
    """The messages of one preview page and the URL of the next older page (None at the start of the channel)."""

    channel: str | None
    messages: list[Message]
    older: str | None


def channel_from_url(url: str) -> str | None:
    """ "kzjobs" from https://t.me/s/kzjobs (or any host's /s/<channel> path)."""
    m = _CHANNEL_PATH.match(urlsplit(url).path)
    return m.group(1) if m else None


def is_channel_page(tree: lxml.html.HtmlElement) -> bool:
    """Whether an HTML page is a Telegram channel preview (by its markup, not its host)."""
    return bool(tree.xpath(_MESSAGE + "[1]")) or bool(tree.xpath("//*[contains(@class, 'tgme_channel_history')]"))


def _message_text(el: lxml.html.HtmlElement) -> str:
    for br in el.iter("br"):
        br.tail = "\n" + (br.tail or "")
    return "\n".join(line.strip() for line in el.text_content().splitlines()).strip()


def _class(name: str) -> str:
    return f".//*[contains(concat(' ', normalize-space(@class), ' '), ' {name} ')]"


def parse_channel_page(tree: lxml.html.HtmlElement, url: str) -> ChannelPage:
    """Messages (oldest first, as shown) and the older-page link of a t.me/s page."""
    messages = []
    channel = channel_from_url(url)
    for node in tree.xpath(_MESSAGE):
        post = node.get("data-post", "")
        name, _, num = post.rpartition("/")
        if not name or not num.isdigit():
            continue
        channel = channel or name
        texts = node.xpath(_TEXT)
        text = _message_text(texts[0]) if texts else ""
        if not text:
            continue  # a photo or sticker without caption carries nothing to assess
        times = node.xpath(".//time[@datetime]")
        views = node.xpath(_class("tgme_widget_message_views"))
        fwd = node.xpath(_class("tgme_widget_message_forwarded_from_name"))
        messages.append(
            Message(
                channel=name,
                id=int(num),
                date=times[-1].get("datetime") if times else None,
                text=text,
                views=views[0].text_content().strip() if views else None,
                forwarded_from=fwd[0].text_content().strip() if fwd else None,
            )
        )
    older = None
    for el in tree.xpath("//link[@rel='prev'][@href] | //a[contains(@class, 'tme_messages_more')][@data-before]"):
        href = el.get("href") or ""
        if el.tag == "a" and not href:
            href = f"?before={el.get('data-before')}"
        if "before=" in href:
            older = urljoin(url, href)
            break
    if older is None and messages and min(m.id for m in messages) > 1 and channel:
        # Pages without the "more" link (older layouts, trimmed copies): page back by the oldest id;
        # the page before message 1 — or an empty page — ends the walk.
        older = urljoin(url, f"/s/{channel}?before={min(m.id for m in messages)}")
    return ChannelPage(channel=channel, messages=messages, older=older)

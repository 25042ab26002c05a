"""The announcements as an Atom 1.0 feed (RFC 4287), built with ElementTree: every text is
escaped by the serializer, every link is absolute under the configured public address."""

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from supervision.portal.announcements import Announcement

ATOM = "http://www.w3.org/2005/Atom"


def _tag(public_url: str, key: str, at: datetime) -> str:
    """A tag URI (RFC 4151): stable for the same announcement, unique per authority."""
    host = public_url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "localhost"
    return f"tag:{host},{at.year}:{key}"


def atom_feed(
    items: list[Announcement], *, authority: str, public_url: str, now: datetime
) -> bytes:
    base = public_url.rstrip("/")
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed", {"xml:lang": "zh-CN"})

    def sub(parent: ET.Element, name: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ATOM}}}{name}", attrs)
        if text is not None:
            el.text = text
        return el

    sub(feed, "id", f"{base}/feed.xml")
    sub(feed, "title", f"{authority}“双随机、一公开”公告")
    sub(feed, "subtitle", "年度抽查计划、抽取承诺、随机抽取、检查结果公示与名录决定")
    updated = max((a.at for a in items), default=now)
    sub(feed, "updated", updated.astimezone(UTC).isoformat(timespec="seconds"))
    author = sub(feed, "author")
    sub(author, "name", authority)
    sub(feed, "link", rel="self", type="application/atom+xml", href=f"{base}/feed.xml")
    sub(feed, "link", rel="alternate", type="text/html", href=f"{base}/announcements")
    sub(feed, "rights", f"© {authority}，依法公开的政府信息")
    for a in items:
        entry = sub(feed, "entry")
        sub(entry, "id", _tag(base, a.key, a.at))
        sub(entry, "title", a.title)
        sub(entry, "updated", a.at.astimezone(UTC).isoformat(timespec="seconds"))
        sub(entry, "published", a.at.astimezone(UTC).isoformat(timespec="seconds"))
        sub(entry, "category", term=a.kind, label=a.kind_label)
        sub(entry, "link", rel="alternate", type="text/html", href=f"{base}{a.path}")
        sub(entry, "summary", a.summary, type="text")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(
        feed, encoding="utf-8", xml_declaration=False
    )

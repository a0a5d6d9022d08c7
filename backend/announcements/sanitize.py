"""Announcement bodies: the rich text staff write, cleaned to what a worker's phone may safely show.

Staff paste text from Word and web pages; the mini-program renders it with `rich-text`. Only a small
set of tags survives; links go to http(s) or mailto only, images come from https or our own uploads.
"""

from __future__ import annotations

import html
import re

import nh3

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "strong", "em", "u", "h2", "h3", "h4", "ul", "ol", "li", "a", "img", "blockquote",
        "table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href"},
    "img": {"src", "alt"},
    "th": {"colspan", "rowspan"},
    "td": {"colspan", "rowspan"},
}
LINK_SCHEMES = ("http://", "https://", "mailto:")
# Only https images: the mini-program's rich-text cannot send a login token, so our own uploads go in as
# attachments (shown below the text, fetched with the token), never as <img> in the body.
IMAGE_PREFIXES = ("https://",)
# Dropped with everything inside them, not just unwrapped.
DROPPED_WITH_CONTENT = frozenset({"script", "style"})

SUMMARY_LENGTH = 120
_BLOCK_END = re.compile(r"<br\s*/?>|</(?:p|h2|h3|h4|li|tr|td|th|caption|blockquote)>", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
_BLOCK_START = re.compile(r"<\s*(?:p|br|div|h[1-6]|ul|ol|li|table|blockquote)\b", re.IGNORECASE)


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    """Runs after nh3's own scheme check; narrows it (relative links, plain-http images, traversal)."""
    if tag == "a" and attribute == "href":
        return value if value.lower().startswith(LINK_SCHEMES) else None
    if tag == "img" and attribute == "src":
        if ".." in value or "\\" in value:
            return None
        return value if value.lower().startswith(IMAGE_PREFIXES) else None
    return value


def sanitize_html(raw: str) -> str:
    """The stored body: allowed tags and attributes only; links get rel="noopener"."""
    return nh3.clean(
        raw or "",
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_filter_attribute,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener",
        strip_comments=True,
    ).strip()


def plain_to_html(raw: str) -> str:
    """Typed text becomes one paragraph per line (pasted from a chat or a plain editor), also when it
    uses inline tags such as <strong>; text that lays out its own blocks (<p>, <h3>, lists …) is kept."""
    raw = raw or ""
    if _BLOCK_START.search(raw):
        return raw
    lines = [line.strip() for line in raw.splitlines()]
    if "<" not in raw:
        lines = [html.escape(line, quote=False) for line in lines]
    return "".join(f"<p>{line}</p>" for line in lines if line)


def plain_text(clean_html: str) -> str:
    """The text of a sanitised body, blocks separated by spaces, entities decoded."""
    spaced = _BLOCK_END.sub(" ", clean_html)
    text = html.unescape(nh3.clean(spaced, tags=set(), clean_content_tags=set(DROPPED_WITH_CONTENT)))
    return _SPACES.sub(" ", text).strip()


def summarize(clean_html: str, length: int = SUMMARY_LENGTH) -> str:
    text = plain_text(clean_html)
    return text if len(text) <= length else text[: length - 1] + "…"


BODY_HINT = (
    "直接输入文字即可，每行是一段。需要排版时也可以用 HTML：加粗 <strong>…</strong>、小标题 <h3>…</h3>、"
    '列表 <ul><li>…</li></ul>、表格 <table>、链接 <a href="https://…">、网上图片 <img src="https://…">。'
    "本地的图片和文件请用下方「添加附件」。脚本、样式等其他内容保存时会自动去掉；保存后在预览页看效果。"
)

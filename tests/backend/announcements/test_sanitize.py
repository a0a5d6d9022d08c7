"""The body sanitiser: what survives, what is removed (no database)."""

from __future__ import annotations

import pytest

from backend.announcements.sanitize import plain_text, sanitize_html, summarize


def test_script_and_style_are_removed_with_their_content():
    clean = sanitize_html("<p>通知</p><script>alert('x')</script><style>p{color:red}</style>")
    assert clean == "<p>通知</p>"


def test_event_handler_attributes_are_removed():
    clean = sanitize_html('<p onclick="steal()">a</p><img src="https://cdn.example.com/a.png" onerror="x()">')
    assert "onclick" not in clean and "onerror" not in clean
    assert '<img src="https://cdn.example.com/a.png">' in clean


@pytest.mark.parametrize(
    "href",
    [
        "javascript:alert(1)",
        "java&#115;cript:alert(1)",
        " JaVaScRiPt:alert(1)",
        "data:text/html,x",
        "/admin/",
    ],
)
def test_links_other_than_http_https_mailto_lose_their_href(href):
    clean = sanitize_html(f'<a href="{href}">点我</a>')
    assert "href" not in clean
    assert "点我" in clean


@pytest.mark.parametrize("href", ["https://example.com/a", "http://example.com/", "mailto:gh@example.com"])
def test_allowed_links_keep_href_and_get_rel_noopener(href):
    clean = sanitize_html(f'<a href="{href}" target="_blank">链接</a>')
    assert f'href="{href}"' in clean
    assert 'rel="noopener"' in clean
    assert "target" not in clean


@pytest.mark.parametrize(
    ("src", "kept"),
    [
        ("https://cdn.example.com/a.png", True),
        ("/api/v1/uploads/12", False),  # our uploads are attachments: rich-text cannot send the token
        ("http://cdn.example.com/a.png", False),
        ("//evil.example.com/a.png", False),
        ("/admin/members", False),
        ("/api/v1/uploads/../../admin/logout", False),
        ("data:image/png;base64,AAAA", False),
        ("javascript:alert(1)", False),
    ],
)
def test_images_only_from_https(src, kept):
    clean = sanitize_html(f'<img src="{src}" alt="图">')
    assert (f'src="{src}"' in clean) is kept


def test_allowed_structure_survives():
    raw = (
        "<h2>标题</h2><h3>小标题</h3><h4>细目</h4><p><strong>粗</strong><em>斜</em><u>下划线</u><br></p>"
        "<ul><li>一</li></ul><ol><li>二</li></ol><blockquote>引用</blockquote>"
        '<table><thead><tr><th colspan="2">表头</th></tr></thead><tbody><tr><td>1</td><td>2</td></tr></tbody>'
        "</table>"
    )
    clean = sanitize_html(raw)
    for tag in ("h2", "h3", "h4", "strong", "em", "u", "br", "ul", "ol", "li", "blockquote", "table", "th"):
        assert f"<{tag}" in clean, tag
    assert 'colspan="2"' in clean


def test_disallowed_tags_and_attributes_are_unwrapped():
    clean = sanitize_html(
        '<div class="x" style="color:red"><h1>大标题</h1><iframe src="https://x"></iframe></div>'
    )
    assert clean == "大标题"


def test_plain_text_and_summary():
    clean = sanitize_html("<p>第一段&amp;</p><p>第二段</p><ul><li>甲</li><li>乙</li></ul>")
    assert plain_text(clean) == "第一段& 第二段 甲 乙"
    long = sanitize_html("<p>" + "字" * 300 + "</p>")
    summary = summarize(long)
    assert len(summary) == 120 and summary.endswith("…")


def test_plain_text_becomes_paragraphs_escaped():
    from backend.announcements.sanitize import plain_to_html

    assert plain_to_html("第一行\n\n第二行 a&b") == "<p>第一行</p><p>第二行 a&amp;b</p>"
    assert plain_to_html("<p>已是 HTML</p>") == "<p>已是 HTML</p>"


def test_lines_stay_paragraphs_when_only_inline_tags_are_used():
    from backend.announcements.sanitize import plain_to_html

    typed = "各分会：\n请于<strong>12月5日</strong>前报名。"
    assert sanitize_html(plain_to_html(typed)) == "<p>各分会：</p><p>请于<strong>12月5日</strong>前报名。</p>"
    assert plain_to_html("<h3>标题</h3>\n正文") == "<h3>标题</h3>\n正文"  # lays out its own blocks

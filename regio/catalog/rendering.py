"""Markdown descriptions rendered to HTML and sanitised with nh3: scripts and handlers are inert."""

import markdown
import nh3

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "b", "i", "code", "pre", "blockquote", "ul", "ol", "li", "a",
    "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "hr",
}


def render_markdown(text: str | None) -> str:
    if not text:
        return ""
    html = markdown.markdown(text, extensions=["tables", "sane_lists"], output_format="html")
    # Headings of a description sit under the page's h2 sections.
    for level in (1, 2):
        html = html.replace(f"<h{level}>", "<h3>").replace(f"</h{level}>", "</h3>")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}, "th": {"scope"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def plain_text(text: str | None, limit: int = 300) -> str:
    """Markdown → sanitised plain text (for cards, feeds, CKAN-free summaries)."""
    cleaned = nh3.clean(markdown.markdown(text or ""), tags=set())
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1].rsplit(" ", 1)[0] + "…"

"""Thread URL normalisation: one article, one thread."""

import pytest

from service.urls import InvalidURL, normalize, normalize_origin, origin_of, origin_of_normalized


@pytest.mark.parametrize("given, expected", [
    ("https://Blog.Example.org/post", "https://blog.example.org/post"),
    ("HTTPS://blog.example.org/post", "https://blog.example.org/post"),
    ("https://blog.example.org:443/post", "https://blog.example.org/post"),
    ("http://blog.example.org:80/post", "http://blog.example.org/post"),
    ("https://blog.example.org:8443/post", "https://blog.example.org:8443/post"),
    ("https://blog.example.org/post#comments", "https://blog.example.org/post"),
    ("https://blog.example.org/post/", "https://blog.example.org/post"),
    ("https://blog.example.org", "https://blog.example.org/"),
    ("https://blog.example.org/", "https://blog.example.org/"),
    ("https://blog.example.org/post?utm_source=x&utm_medium=y", "https://blog.example.org/post"),
    ("https://blog.example.org/post?fbclid=abc&page=2", "https://blog.example.org/post?page=2"),
    ("https://blog.example.org/post?b=2&a=1", "https://blog.example.org/post?a=1&b=2"),
    ("https://blog.example.org/caf%C3%A9", "https://blog.example.org/caf%C3%A9"),
    ("https://blog.example.org/café", "https://blog.example.org/caf%C3%A9"),
    ("https://user:pw@blog.example.org/post", "https://blog.example.org/post"),
    ("https://bücher.example/", "https://xn--bcher-kva.example/"),
])
def test_normalize(given, expected):
    assert normalize(given) == expected


@pytest.mark.parametrize("bad", [
    "", "   ", "javascript:alert(1)", "ftp://example.org/", "data:text/html,x", "/relative/path",
    "https://", "https://example.org:99999/", "https://exa mple.org/\x00", "x" * 3000, None, 42,
])
def test_invalid_urls_are_refused(bad):
    with pytest.raises(InvalidURL):
        normalize(bad)


def test_origin_of_drops_path_and_default_port():
    assert origin_of("https://Blog.example.org:443/a/b?c#d") == "https://blog.example.org"


def test_normalize_origin_accepts_a_trailing_slash():
    assert normalize_origin("http://localhost:8080/") == "http://localhost:8080"


@pytest.mark.parametrize("url", ["https://blog.example.org/a/b?c=1", "http://[::1]:8080/x", "https://h.example/"])
def test_origin_of_normalized_agrees_with_origin_of(url):
    normalized = normalize(url)
    assert origin_of_normalized(normalized) == origin_of(normalized)


def test_a_url_too_long_once_percent_encoded_is_refused():
    with pytest.raises(InvalidURL):
        normalize("https://blog.example/" + "é" * 1500)

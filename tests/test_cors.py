"""CORS: only a site's own origins may read answers or write."""

from .conftest import ORIGIN

URL = f"{ORIGIN}/post"


def test_allowed_origin_gets_cors_headers(client, site):
    response = client.get("/api/threads", query_string={"site": site, "url": URL}, headers={"Origin": ORIGIN})
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Causerie-Ticket" in response.headers["Access-Control-Expose-Headers"]
    assert "Origin" in response.headers["Vary"]


def test_foreign_origin_gets_no_cors_headers(client, site):
    response = client.get("/api/threads", query_string={"site": site, "url": URL},
                          headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_origin_of_another_site_gets_no_cors_headers_on_this_site(app, client, site):
    from .conftest import add_site

    add_site(app, "other", origins=("https://other.example",))
    response = client.get("/api/threads", query_string={"site": site, "url": URL},
                          headers={"Origin": "https://other.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_preflight_from_an_allowed_origin_is_answered(client, site):
    response = client.options("/api/comments", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in response.headers["Access-Control-Allow-Headers"]


def test_preflight_from_a_foreign_origin_gets_no_permission(client, site):
    response = client.options("/api/comments", headers={"Origin": "https://evil.example",
                                                        "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_validation_errors_are_readable_by_the_site(reader):
    response = reader.post("")
    assert response.status_code == 400
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_counts_are_readable_by_the_site(client, site):
    response = client.get("/api/counts", query_string={"site": site, "url": URL}, headers={"Origin": ORIGIN})
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_a_refusal_of_an_origin_another_site_allows_is_not_readable_by_it(app, client, site):
    from .conftest import Reader, add_site

    add_site(app, "other", origins=("https://other.example",))
    response = Reader(client, site, origin="https://other.example").post("hi")
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response.headers

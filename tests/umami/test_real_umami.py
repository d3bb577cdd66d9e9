"""The real Umami, through the project's Caddyfile, from a visitor's non-local address: a page
view lands in PostgreSQL with the country of the test database; the tracker is served renamed."""

from __future__ import annotations

import uuid


def test_a_pageview_through_caddy_lands_with_the_visitors_country(real_umami):
    website = real_umami.add_website(domain="legal.example.org")
    response = real_umami.visitor_request("POST", real_umami.caddy_url + "/api/p", {
        "type": "event",
        "payload": {"website": website, "hostname": "legal.example.org", "url": "/privacy/"}})
    # (only fields the site's before-send hook lets through: the deployment's guard refuses others)
    assert response.status == 200, response.body
    rows = real_umami.psql(
        "SELECT e.url_path, e.hostname, s.country, s.browser, s.os, s.device FROM website_event e "
        f"JOIN session s USING (session_id) WHERE e.website_id = '{website}';")
    assert rows.splitlines() == ["/privacy|legal.example.org|IS|chrome|Linux|desktop"]


def test_the_tracker_is_served_under_the_deployed_name_and_posts_to_the_deployed_endpoint(real_umami):
    response = real_umami.visitor_request("GET", real_umami.caddy_url + "/s.js")
    assert response.status == 200
    # update-tracker (the image's start step) rewrote Umami's endpoint to COLLECT_API_ENDPOINT.
    assert (response.body.count(b"/api/p"), response.body.count(b"/api/send")) == (1, 0)

"""Whose address a request counts as behind proxies and through web_front (servicekit.forwarding,
issue 15 item 5): a forwarded address is believed only past trusted proxies or from web_front."""

from __future__ import annotations

from unittest import mock

from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from servicekit.forwarding import client_address, counted_address, forward_chain, front_headers

FRONT = "front-token"


def request(peer: str, headers: dict[str, str]) -> web.Request:
    transport = mock.Mock()
    transport.get_extra_info.return_value = (peer, 40000)
    return make_mocked_request("POST", "/login", headers=headers, transport=transport)


def test_without_trusted_proxies_the_peer_is_the_client_whatever_the_header_says():
    assert client_address("6.6.6.6", "10.0.0.1", 0) == "10.0.0.1"


def test_the_client_is_the_entry_written_by_the_outermost_trusted_proxy():
    header = "6.6.6.6, 203.0.113.7, 10.0.0.2"  # client-made, the client, an inner proxy
    assert client_address(header, "10.0.0.3", 2) == "203.0.113.7"
    assert client_address("6.6.6.6, 203.0.113.7", "10.0.0.3", 1) == "203.0.113.7"


def test_a_header_shorter_than_the_proxy_chain_gives_its_first_entry():
    assert client_address("203.0.113.7", "10.0.0.3", 3) == "203.0.113.7"
    assert client_address(None, "10.0.0.3", 1) == "10.0.0.3"


def test_the_chain_sent_on_ends_with_the_client_the_hop_itself_found():
    for header, trusted in [
        (None, 0),
        ("6.6.6.6", 0),
        ("6.6.6.6, 203.0.113.7", 1),
        ("6.6.6.6, 203.0.113.7, 10.0.0.2", 2),
        ("203.0.113.7", 3),
    ]:
        sent = forward_chain(header, "10.0.0.3", trusted)
        assert client_address(sent, "web-front", 1) == client_address(header, "10.0.0.3", trusted)
    assert forward_chain("6.6.6.6", "10.0.0.3", 0) == "6.6.6.6, 10.0.0.3"  # appended as usual


def test_the_front_forwards_its_visitor_with_its_credential_and_nothing_without_one():
    behind_proxy = request("10.0.0.2", {"X-Forwarded-For": "6.6.6.6, 203.0.113.7"})
    headers = front_headers(behind_proxy, 1, FRONT)
    assert headers == {
        "X-Forwarded-For": "6.6.6.6, 203.0.113.7",
        "Authorization": f"Bearer {FRONT}",
    }
    assert front_headers(behind_proxy, 1, "") == {}


def test_auth_believes_the_forwarded_visitor_only_from_the_front():
    from_front = {"X-Forwarded-For": "6.6.6.6, 203.0.113.7", "Authorization": f"Bearer {FRONT}"}
    assert counted_address(request("127.0.0.1", from_front), 0, FRONT) == "203.0.113.7"
    forged = {"X-Forwarded-For": "203.0.113.7", "Authorization": "Bearer guess"}
    assert counted_address(request("127.0.0.1", forged), 0, FRONT) == "127.0.0.1"
    assert counted_address(request("127.0.0.1", {"X-Forwarded-For": "1.1.1.1"}), 0, "") == (
        "127.0.0.1"
    )


def test_without_the_front_credential_a_real_proxy_in_front_of_auth_still_counts():
    via_proxy = {"X-Forwarded-For": "6.6.6.6, 203.0.113.7"}
    assert counted_address(request("10.0.0.2", via_proxy), 1, FRONT) == "203.0.113.7"

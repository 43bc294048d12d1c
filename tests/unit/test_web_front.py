"""web_front's pure parts: money as rubles, the product pictures, edge errors placed beside
their fields, CSRF tokens, safe return paths and how a login is routed."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from web_front.forms import Form
from web_front.images import hue_of, initials, product_svg
from web_front.money import NBSP, kopecks_from_text, rubles
from web_front.pages.account import login_route, safe_next
from web_front.security import csrf_token


def test_kopecks_show_as_rubles_with_a_thousands_gap_a_comma_and_the_ruble_sign():
    assert rubles(123450) == f"1{NBSP}234,50{NBSP}₽"
    assert rubles(5) == f"0,05{NBSP}₽"
    assert rubles(100_000_000) == f"1{NBSP}000{NBSP}000,00{NBSP}₽"
    assert rubles(-250) == f"−2,50{NBSP}₽"
    assert rubles(None) == ""


def test_typed_amounts_become_kopecks_and_anything_else_is_refused():
    assert kopecks_from_text("1 234,5") == 123450
    assert kopecks_from_text("500") == 50000
    assert kopecks_from_text("10.05 ₽") == 1005
    for wrong in ("", "abc", "1,234", "-5", "1.2.3"):
        assert kopecks_from_text(wrong) is None, wrong


def test_a_product_picture_is_valid_svg_with_the_names_initials_and_a_stable_colour():
    svg = product_svg("Чайник электрический <2 л>")
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    assert "ЧЭ" in svg and "&lt;2 л&gt;" in svg
    assert hue_of("Чайник") == hue_of("Чайник") and 0 <= hue_of("Чайник") < 360
    assert initials("  ") == "?"
    assert initials("кофе") == "К"


def test_an_edge_error_lands_beside_its_field_in_russian_and_an_unknown_one_at_the_top():
    form = Form(values={"phone": "12"})
    form.edge_error("invalid phone: expected 10 to 15 digits, e.g. +79991234567")
    assert form.errors == {"phone": "Введите телефон: от 10 до 15 цифр, например +79991234567"}
    other = Form()
    other.edge_error("something new went wrong")
    assert other.errors == {"": "something new went wrong"}


def test_required_fields_that_are_blank_get_their_own_message():
    form = Form(values={"username": "  ", "password": "x"})
    form.require(("username", "password"), {"username": "Введите имя"})
    assert form.errors == {"username": "Введите имя"}


def test_a_csrf_token_depends_on_both_the_secret_and_the_visitors_seed():
    token = csrf_token("secret", "seed")
    assert token == csrf_token("secret", "seed")
    assert token != csrf_token("secret", "other-seed")
    assert token != csrf_token("other-secret", "seed")


def test_after_login_a_person_only_returns_to_a_path_of_this_site():
    assert safe_next("/products/5?added=1") == "/products/5?added=1"
    for outside in ("https://evil.example/", "//evil.example/", "", None, "javascript:x"):
        assert safe_next(outside) == "/"


def test_a_login_by_email_or_phone_goes_to_auths_matching_path():
    assert login_route("anna@example.ru") == ("/login/email", "email")
    assert login_route("+7 (999) 123-45-67") == ("/login/phone", "phone")
    assert login_route("anna.k") == ("/login", "username")

"""The admin's "Письма" in a real Chromium: an e-mail the shop sent to a new customer is listed
under their address, and opens with its text and its HTML (in a sandboxed frame, where an
e-mail's scripts do not run and its markup cannot leave); with the mail catcher down the page
says so."""

from __future__ import annotations

import re

from playwright.sync_api import APIRequestContext, Page, expect

from tests.browser.conftest import register_account
from tests.browser.system import ShopSystem, new_account
from tests.integration.test_mail_viewer import send
from tests.support.notification_protocols import mail_to

HOSTILE_HTML = (
    "<p>Разметка письма</p>"
    "<script>document.body.insertAdjacentHTML('beforeend', '<p>скрипт выполнен</p>')</script>"
    '"></iframe><p>Вне рамки</p><script>document.title = "взлом"</script>'
)


def test_an_admin_finds_the_email_sent_to_a_new_customer_and_reads_its_text_and_html(
    shop: ShopSystem, api: APIRequestContext, admin_page: Page
) -> None:
    # the greeting goes out by SMS; a password reset is the e-mail a new customer can ask for
    customer = register_account(shop, api, new_account())
    asked = api.post(
        f"{shop.url_of('auth_svc')}/password/reset/request", data={"email": customer.email}
    )
    assert asked.status == 202, asked.text()
    shop.run(mail_to(shop.stack.state / "sent", customer.email))

    admin_page.get_by_role("link", name="Админка").click()
    admin_page.get_by_role("link", name="Письма").click()
    expect(admin_page.get_by_role("heading", name="Письма")).to_be_visible()
    row = admin_page.get_by_role("row").filter(has_text=customer.email)
    row.get_by_role("link", name=re.compile("Сброс пароля")).click()

    expect(admin_page.get_by_role("heading", name=re.compile("Сброс пароля"))).to_be_visible()
    expect(admin_page.get_by_text(customer.email)).to_be_visible()
    expect(admin_page.locator("pre.mail-text")).to_contain_text("Код для сброса пароля")
    frame = admin_page.get_by_title("HTML-версия письма")
    expect(frame).to_have_attribute("sandbox", "")
    expect(
        admin_page.frame_locator("iframe.mail-html").get_by_text("Код для сброса пароля")
    ).to_be_visible()


def test_an_emails_html_stays_in_its_sandbox_and_its_scripts_do_not_run(
    shop: ShopSystem, admin_page: Page
) -> None:
    to = new_account().email
    shop.run(send(shop.stack.procs["mail_sim"], to, "Письмо со скриптом", "Текст", HOSTILE_HTML))
    admin_page.goto("/admin/mail")
    admin_page.get_by_role("row").filter(has_text=to).get_by_role("link").click()

    frame = admin_page.frame_locator("iframe.mail-html")
    expect(frame.get_by_text("Разметка письма")).to_be_visible()
    expect(frame.get_by_text("скрипт выполнен")).to_have_count(0)
    expect(admin_page.locator("main script")).to_have_count(0)
    expect(admin_page.locator("main iframe")).to_have_count(1)
    expect(admin_page.locator("main").get_by_text("Вне рамки")).to_have_count(0)
    expect(admin_page).not_to_have_title("взлом")


def test_with_the_mail_catcher_down_the_page_says_so(shop: ShopSystem, admin_page: Page) -> None:
    with shop.down("mail_sim"):
        answer = admin_page.goto("/admin/mail")
        assert answer is not None and answer.status == 503
        expect(admin_page.get_by_role("alert")).to_contain_text("Почтовый сервер не отвечает")

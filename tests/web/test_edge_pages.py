"""Web pages answer bad input with a Chinese HTML error page, never a 500 or a JSON body."""
import pytest

from tests.web.helpers import login


@pytest.mark.parametrize("path, status", [("/events/abc", 422), ("/events/2147483648", 422),
                                          ("/notes/99999999999999999999", 422), ("/no/such/page", 404),
                                          ("/events?date_from=0001-01-01&date_to=9999-12-31&page=99999999999", 200),
                                          ("/events?department=%00", 422)])
def test_pages_answer_bad_input_with_html(web, users, path, status):
    assert login(web, "quality").status_code == 303
    r = web.get(path, headers={"accept": "text/html"})
    assert r.status_code == status, r.text[:300]
    assert r.headers["content-type"].startswith("text/html")
    if status != 200:
        assert "<html" in r.text.lower() and ("未找到" in r.text or "不合法" in r.text or "空字符" in r.text)


def test_unknown_page_is_html_404_even_when_logged_out(web):
    r = web.get("/nope")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html") and "未找到" in r.text

"""A storage password never reaches a message: user-info, query string, percent-encoded, or a
libpq key/value string; ``redact`` masks it as ***, ``scrub`` removes it from any text."""

from __future__ import annotations

import pytest

from harness.cli import main
from harness.storage.study import redact, scrub

SECRET = "s3cr3tX"

FORMS = {
    # name: (storage as given, what redact shows)
    "user-info": (
        f"postgresql://me:{SECRET}@db.example:5432/studies",
        "postgresql://me:***@db.example:5432/studies",
    ),
    "query, password first": (
        f"postgresql://me@db.example/studies?password={SECRET}&sslmode=require",
        "postgresql://me@db.example/studies?password=***&sslmode=require",
    ),
    "query, password not first": (
        f"postgresql+psycopg://me@db.example/studies?sslmode=require&password={SECRET}",
        "postgresql+psycopg://me@db.example/studies?sslmode=require&password=***",
    ),
    "query, sslpassword": (
        f"postgresql://me@db.example/studies?sslpassword={SECRET}",
        "postgresql://me@db.example/studies?sslpassword=***",
    ),
    "scheme-less key/value": (
        f"host=db.example port=5432 user=me password={SECRET} dbname=studies",
        "host=db.example port=5432 user=me password=*** dbname=studies",
    ),
    "key/value, spaces and quotes": (
        f"host=db.example password = '{SECRET} it\\'s' dbname=studies",
        "host=db.example password = *** dbname=studies",
    ),
    "key/value as the database part": (
        f"postgresql:///dbname=studies password={SECRET}",
        "postgresql:///dbname=studies password=***",
    ),
}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_redact_masks_the_password_and_keeps_the_rest(form: str) -> None:
    url, shown = FORMS[form]
    assert redact(url) == shown
    assert SECRET not in redact(url) and "***" in redact(url)
    password = f"{SECRET} it's" if "'" in url else SECRET  # as libpq reads it
    message = f"cannot connect to {url}: password {password!r} rejected"
    assert SECRET not in scrub(message, url) and scrub(message, url).count("***") == 2


@pytest.mark.parametrize("where", ["user-info", "query"])
def test_a_percent_encoded_password_is_masked_as_written_and_decoded(where: str) -> None:
    written, decoded = "p%40ss%2Fw%25rd", "p@ss/w%rd"
    url = (
        f"postgresql://me:{written}@db.example/studies"
        if where == "user-info"
        else f"postgresql://me@db.example/studies?password={written}"
    )
    shown = redact(url)
    assert written not in shown and "p%40ss" not in shown and decoded not in shown
    assert shown.startswith("postgresql://me") and "***" in shown and "db.example" in shown
    text = scrub(f"the driver says {decoded!r}; the URL was {url}", url)
    assert written not in text and decoded not in text and "p@ss" not in text
    assert text.count("***") == 2


def test_a_url_without_a_password_is_left_as_it_was() -> None:
    for url in (
        "sqlite:///studies/harness.db",
        "postgresql://me@db.example:5432/studies?sslmode=require",
        "host=db.example user=me dbname=studies",
    ):
        assert redact(url) == url
        assert scrub(f"error at {url}", url) == f"error at {url}"


def test_status_on_a_query_password_prints_no_secret(capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql://me@127.0.0.1:9/none?password=SECRETX"  # no server listens on port 9
    assert main(["status", "--storage", url]) == 2
    out, err = capsys.readouterr()
    assert "SECRETX" not in out and "SECRETX" not in err
    assert err.startswith("error: storage postgresql://me@127.0.0.1:9/none?password=***: cannot ")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_status_on_a_key_value_string_prints_no_secret(capsys: pytest.CaptureFixture[str]) -> None:
    dsn = "host=127.0.0.1 port=9 user=me password=SECRETX dbname=none"
    assert main(["status", "--storage", dsn]) == 2
    out, err = capsys.readouterr()
    assert "SECRETX" not in out and "SECRETX" not in err
    assert "password=***" in err and err.count("\n") == 1

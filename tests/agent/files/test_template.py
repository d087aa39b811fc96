from __future__ import annotations

import pytest

from opsplane.agent.files.template import PathTemplate, TemplateError


def test_placeholders_become_metadata() -> None:
    template = PathTemplate("/data/dumps/{namespace}/{app}/*.hprof")
    assert template.names == ("namespace", "app")
    assert template.match("/data/dumps/prod/shop/java_pid7.hprof", "/data/dumps") == {
        "namespace": "prod",
        "app": "shop",
    }


@pytest.mark.parametrize(
    "path",
    [
        "/data/dumps/prod/java_pid7.hprof",  # a level short
        "/data/dumps/prod/shop/x/java_pid7.hprof",  # a level too deep: * stays in its segment
        "/data/dumps/prod/shop/java_pid7.txt",
        "/elsewhere/prod/shop/java_pid7.hprof",
    ],
)
def test_paths_that_do_not_fit(path: str) -> None:
    assert PathTemplate("/data/dumps/{namespace}/{app}/*.hprof").match(path, "/data") is None


def test_placeholder_inside_a_segment_and_double_star() -> None:
    template = PathTemplate("/srv/{app}-{env}/**/heap-?.hprof")
    assert template.match("/srv/shop-prod/a/b/heap-1.hprof", "/srv") == {
        "app": "shop",
        "env": "prod",
    }


def test_relative_template_matches_below_the_root() -> None:
    template = PathTemplate("{app}/*.hprof")
    assert not template.absolute
    assert template.root() is None
    assert template.match("/var/dumps/shop/a.hprof", "/var/dumps") == {"app": "shop"}
    assert template.match("/other/shop/a.hprof", "/var/dumps") is None


def test_root_is_the_fixed_prefix() -> None:
    assert PathTemplate("/data/dumps/{namespace}/{app}/*.hprof").root() == "/data/dumps"
    assert PathTemplate("/{app}/*.hprof").root() == "/"
    assert PathTemplate("/data/*/x.hprof").root() == "/data"


def test_literal_braces_and_regex_characters() -> None:
    template = PathTemplate("/d/{{x}}.+(/{app}.hprof")
    assert template.match("/d/{x}.+(/shop.hprof", "/d") == {"app": "shop"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("/d/{app", "unclosed '{'"),
        ("/d/app}", "unmatched '}'"),
        ("/d/{a-b}/x", "bad placeholder {a-b}"),
        ("/d/{}/x", "bad placeholder {}"),
        ("/d/{app}/{app}.hprof", "placeholder {app} appears twice"),
        ("", "empty"),
    ],
)
def test_bad_templates_are_refused_clearly(text: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message.replace("{", r"\{").replace("}", r"\}")):
        PathTemplate(text)

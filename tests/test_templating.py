"""Compiled templates are kept between processes, and a bad cache never fails a render."""

from __future__ import annotations

import os
import tempfile

import pytest
from jinja2 import DictLoader

from agenteval.templating import environment

SOURCE = {"t.j2": "{% for x in xs %}<{{ x }}>{% endfor %}"}


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def _render() -> str:
    return environment(DictLoader(SOURCE)).get_template("t.j2").render(xs=[1, 2])


def _cached(root) -> list[str]:
    (folder,) = [p for p in root.iterdir() if p.name.startswith("_jinja2-cache-")]
    return [p.name for p in folder.iterdir() if p.name.startswith("agenteval-")]


def test_a_compiled_template_is_written_once_and_read_back(private_tmp, monkeypatch):
    assert _render() == "<1><2>"
    assert len(_cached(private_tmp)) == 1
    compiled = []
    real = environment(DictLoader(SOURCE)).compile

    def counting(*args, **kwargs):
        compiled.append(args)
        return real(*args, **kwargs)

    env = environment(DictLoader(SOURCE))
    monkeypatch.setattr(env, "compile", counting)
    assert env.get_template("t.j2").render(xs=[3]) == "<3>"
    assert compiled == []  # loaded from the cache, not compiled again


def test_a_corrupt_cache_file_is_a_miss(private_tmp):
    _render()
    (folder,) = [p for p in private_tmp.iterdir() if p.name.startswith("_jinja2-cache-")]
    for name in _cached(private_tmp):
        (folder / name).write_bytes(b"not jinja bytecode at all")
    assert _render() == "<1><2>"


def test_a_cache_that_cannot_be_written_is_skipped(private_tmp, monkeypatch):
    from jinja2 import bccache

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(bccache.tempfile, "NamedTemporaryFile", full_disk)
    assert _render() == "<1><2>"
    assert _cached(private_tmp) == []


def test_no_private_temporary_folder_means_no_cache(private_tmp):
    (private_tmp / f"_jinja2-cache-{os.getuid()}").write_text("a file where the folder goes")
    assert _render() == "<1><2>"

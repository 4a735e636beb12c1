"""Compiled page templates kept per user: shared by instance folders, private, never stale nor damaged."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from jinja2 import Environment, FileSystemLoader
from jinja2.bccache import bc_magic

from annotator.web import template_cache as tc
from annotator.web.template_cache import CheckedBytecodeCache, cache_key, private_folder, template_cache


def _app(tmp_path: Path, instance: str, cache: Path):
    from annotator import create_app

    config = {"TESTING": True, "DATABASE_URL": "sqlite://", "SECRET_KEY": "k" * 32, "TEMPLATE_CACHE_DIR": str(cache)}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ANNOTATOR_INSTANCE_PATH", str(tmp_path / instance))
        return create_app(config)


def _kept(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _env(templates: Path, cache: Path) -> Environment:
    return Environment(loader=FileSystemLoader(templates), bytecode_cache=CheckedBytecodeCache(str(cache)))


def _never_compile(*args, **kwargs):
    raise AssertionError("compiled, not loaded from the cache")


def test_template_cache_is_shared_by_new_instance_folders(tmp_path):
    cache = tmp_path / "cache"
    first = _app(tmp_path, "one", cache)
    for name in first.jinja_env.list_templates(extensions=["html"]):
        first.jinja_env.get_template(name)
    folder = Path(first.jinja_env.bytecode_cache.directory)
    assert folder.parent == cache.resolve()
    assert len(_kept(folder)) == len(first.jinja_env.list_templates(extensions=["html"]))
    assert all(name.startswith("__jinja2_") and name.endswith(".cache") for name in _kept(folder))  # no temporary

    second = _app(tmp_path, "two", cache)  # a new instance folder
    second.jinja_env.compile = _never_compile
    for name in second.jinja_env.list_templates(extensions=["html"]):
        second.jinja_env.get_template(name)
    assert not (tmp_path / "two" / "template-cache").exists()


def test_template_cache_folders_are_private(tmp_path):
    app = _app(tmp_path, "one", tmp_path / "made" / "for" / "it")
    folder = Path(app.jinja_env.bytecode_cache.directory)
    for made in (folder, folder.parent, folder.parent.parent, folder.parent.parent.parent):
        assert stat.S_IMODE(made.stat().st_mode) == 0o700, made
        assert made.stat().st_uid == os.getuid()


@pytest.mark.parametrize("mode", [0o777, 0o775, 0o757], ids=["world", "group", "other"])
def test_template_cache_refuses_a_folder_others_can_write(tmp_path, mode):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(mode)
    assert private_folder(shared / "cache") is None
    assert private_folder(shared) is None
    app = _app(tmp_path, "one", shared / "cache")
    assert Path(app.jinja_env.bytecode_cache.directory).parent == (tmp_path / "one" / "template-cache").resolve()
    assert not (shared / "cache").exists() or not list((shared / "cache").iterdir())


def test_template_cache_accepts_a_sticky_shared_parent(tmp_path):
    sticky = tmp_path / "tmp"
    sticky.mkdir()
    sticky.chmod(0o1777)  # as /tmp: no one may rename or remove what another owns
    assert private_folder(sticky / "mine") == (sticky / "mine").resolve()


@pytest.mark.skipif(os.getuid() != 0, reason="giving a folder to another user takes root")
def test_template_cache_refuses_a_folder_of_another_user(tmp_path):
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, 12345, 12345)
    assert private_folder(theirs) is None
    assert private_folder(theirs / "below") is None


def test_template_cache_follows_no_link_to_a_folder_others_can_write(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    (shared / "cache").mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(shared / "cache")
    assert private_folder(tmp_path / "link") is None


def test_template_cache_without_a_private_folder_keeps_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(tc, "private_folder", lambda path: None)
    app = _app(tmp_path, "one", tmp_path / "cache")
    assert app.jinja_env.bytecode_cache is None
    assert app.jinja_env.get_template("login.html")  # compiled in memory


def test_template_cache_compiles_a_changed_source_again(tmp_path):
    templates, cache = tmp_path / "templates", tmp_path / "cache"
    templates.mkdir()
    cache.mkdir()
    (templates / "page.html").write_text("one {{ x }}")
    assert _env(templates, cache).get_template("page.html").render(x=1) == "one 1"
    (templates / "page.html").write_text("two {{ x }}")
    assert _env(templates, cache).get_template("page.html").render(x=2) == "two 2"
    unchanged = _env(templates, cache)
    unchanged.compile = _never_compile  # the second source is the one kept now
    assert unchanged.get_template("page.html").render(x=3) == "two 3"


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # torn
        lambda data: data[:-1] + bytes([data[-1] ^ 1]),  # one bit of the code
        lambda data: b"",  # empty
        lambda data: b"garbage" * 10,
        # a sound digest over a body that is not Jinja's: checked by the digest, refused by Jinja's header
        lambda data: tc.MAGIC + tc.hashlib.sha256(b"x" * 40).digest() + b"x" * 40,
        # Jinja's header, then a checksum that cannot be read: a file Jinja alone would fail on
        lambda data: _sealed(bc_magic + b"\x80\x02X\xff\xff"),
    ],
    ids=["torn", "bit", "empty", "garbage", "not-jinja", "broken-checksum"],
)
def test_template_cache_compiles_a_damaged_file_again_and_replaces_it(tmp_path, damage):
    templates, cache = tmp_path / "templates", tmp_path / "cache"
    templates.mkdir()
    cache.mkdir()
    (templates / "page.html").write_text("{% for i in range(3) %}{{ i }}{% endfor %} {{ x }}")
    assert _env(templates, cache).get_template("page.html").render(x="a") == "012 a"
    (kept,) = cache.iterdir()
    sound = kept.read_bytes()
    kept.write_bytes(damage(sound))
    assert _env(templates, cache).get_template("page.html").render(x="b") == "012 b"
    assert kept.read_bytes() == sound  # written again
    assert _kept(cache) == [kept.name]


def _sealed(body: bytes) -> bytes:
    return tc.MAGIC + tc.hashlib.sha256(body).digest() + body


def test_template_cache_serves_when_it_cannot_write_and_leaves_no_temporary(tmp_path, monkeypatch):
    templates, cache = tmp_path / "templates", tmp_path / "cache"
    templates.mkdir()
    cache.mkdir()
    (templates / "page.html").write_text("{{ x }}!")

    def fail(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tc.os, "replace", fail)
    assert _env(templates, cache).get_template("page.html").render(x="ok") == "ok!"
    assert _kept(cache) == []


def test_template_cache_key_follows_the_settings_that_shape_compiled_code(tmp_path):
    plain = Environment()
    assert cache_key(plain) == cache_key(Environment())
    assert cache_key(Environment(trim_blocks=True)) != cache_key(plain)
    assert cache_key(Environment(autoescape=True)) != cache_key(plain)
    assert cache_key(Environment(variable_start_string="[[", variable_end_string="]]")) != cache_key(plain)
    extra = Environment()
    extra.filters["shout"] = str.upper
    assert cache_key(extra) != cache_key(plain)


def test_template_cache_default_folder_is_the_users_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert tc.user_cache_dir() == tmp_path / "xdg" / "annotator" / "templates"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert tc.user_cache_dir() == tmp_path / "home" / ".cache" / "annotator" / "templates"


def test_template_cache_configured_folder_wins(tmp_path):
    app = _app(tmp_path, "one", tmp_path / "chosen")
    cache = template_cache(app)
    assert cache is not None and Path(cache.directory).parent == (tmp_path / "chosen").resolve()

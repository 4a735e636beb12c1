"""The command line: what a newcomer types first (status, projects), and its answers."""

import json
import os


def _import(runner, tmp_path, project="p"):
    path = tmp_path / "reports.txt"
    path.write_text(
        "Twelve drones were shot down over the Kursk region. A fire broke out.\n\nDebris fell in Belgorod.\n"
    )
    result = runner.invoke(args=["import", str(path), "--project", project])
    assert result.exit_code == 0, result.output


def test_cli_status_of_an_unknown_project_exits_1(runner, tmp_path):
    _import(runner, tmp_path)
    result = runner.invoke(args=["status", "--project", "nope"])
    assert result.exit_code == 1
    assert "no project named 'nope'" in result.output and "annotator projects" in result.output


def test_cli_status_counts_a_project(runner, tmp_path):
    _import(runner, tmp_path)
    counts = json.loads(runner.invoke(args=["status", "--project", "p", "--json"]).output)
    assert counts == {
        "reports": 2,
        "sentences": 3,
        "done": 0,
        "flagged": 0,
        "skipped": 0,
        "complete": 0,
        "gold": 0,
        "changed_since_gold": 0,
        "annotators": {},
    }


def test_cli_projects_lists_each_project_with_its_counts(runner, tmp_path):
    assert "No projects yet" in runner.invoke(args=["projects"]).output
    assert json.loads(runner.invoke(args=["projects", "--json"]).output) == []
    _import(runner, tmp_path, "beta")
    _import(runner, tmp_path, "alpha")
    rows = json.loads(runner.invoke(args=["projects", "--json"]).output)
    assert [row["name"] for row in rows] == ["alpha", "beta"]
    assert rows[0]["sentences"] == 3 and rows[0]["reports"] == 2 and rows[0]["labels"] == ["REGION", "COUNT", "OUTCOME"]
    assert rows[0]["queue_order"] == "report"
    runner.invoke(args=["users", "add", "ann", "--password-stdin"], input="correct horse 1\n")
    created = runner.invoke(
        args=["projects", "create", "gamma", "--queue-order", "uncertain", "--annotators-per-sentence", "1"]
    )
    assert created.exit_code == 0, created.output
    text = runner.invoke(args=["projects"])
    assert text.exit_code == 0
    assert text.output.splitlines()[0] == (
        "alpha (en, 2 per sentence, open, report order): "
        "reports 2, sentences 3, done 0, flagged 0, skipped 0, complete 0, gold 0"
    )
    assert text.output.splitlines()[2].startswith("gamma (en, 1 per sentence, open, most uncertain first): ")
    assert json.loads(runner.invoke(args=["projects", "list", "--json"]).output)[2]["queue_order"] == "uncertain"


# What Python makes of a Latin-1 byte in a command-line argument (an unpaired surrogate), a NUL,
# and a line break: none can name an account, and none reaches the database as a query parameter.
BAD_USERNAMES = ["caf\udce9", "a\x00b", "ali\nce"]


def test_cli_users_add_refuses_a_name_that_is_not_plain_text(runner, db):
    from sqlalchemy import func, select

    from annotator.models import User

    for name in BAD_USERNAMES:
        result = runner.invoke(args=["users", "add", name, "--password-stdin"], input="correct horse battery\n")
        assert result.exit_code == 1, result.output
        assert isinstance(result.exception, SystemExit), result.exception
        assert "a username cannot hold" in result.output
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(User)) == 0


def test_cli_users_add_refuses_names_that_pass_for_another(runner, db):
    from sqlalchemy import select

    from annotator.models import User

    assert runner.invoke(args=["users", "add", "alice", "--password-stdin"], input="correct horse 1\n").exit_code == 0
    for name, problem in (
        ("ALICE", "user 'alice' exists already, and 'ALICE' differs from it only in case"),
        ("ali\u200bce", "cannot hold the character U+200B"),  # a zero-width space
        ("\u202eecila", "cannot hold the character U+202E"),  # a right-to-left override
        ("a\u2028b", "cannot hold the character U+2028"),  # a line separator
        ("\uff41lice", "user 'alice' exists already, and 'ａlice' differs from it only in case, width"),  # full width
        ("ali\u200cce", "differs from it only in case, width or invisible characters"),  # a joiner, in a Latin name
    ):
        result = runner.invoke(args=["users", "add", name, "--password-stdin"], input="correct horse 1\n")
        assert result.exit_code == 1 and problem in result.output, (name, result.output)
    assert db.scalars(select(User.username)).all() == ["alice"]
    # The joiners that Persian names need are letters of a name, not a trick: "Mehr\u200cnaz" is an account.
    persian = "\u0645\u0647\u0631\u200c\u0646\u0627\u0632"
    added = runner.invoke(args=["users", "add", persian, "--password-stdin"], input="correct horse 1\n")
    assert added.exit_code == 0, added.output


def test_cli_import_names_an_annotator_as_an_account_stores_it(runner, db, tmp_path):
    # " bob " in a file is the account "bob" (names are stored stripped), not a clash with it.
    from sqlalchemy import select

    from annotator.models import Annotation, User

    assert runner.invoke(args=["users", "add", "bob", "--password-stdin"], input="correct horse 1\n").exit_code == 0
    path = tmp_path / "b.jsonl"
    count = [{"start": 0, "end": 3, "label": "COUNT"}]
    lines = [
        {"text": "Two drones hit Odesa.", "spans": count, "_annotator_id": " bob "},
        # A name that differs only in case is the same person: no account "Bob" could be made beside "bob".
        {"text": "Six drones hit Kyiv.", "spans": count, "_annotator_id": "Bob"},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    result = runner.invoke(args=["import", str(path), "--project", "p"])
    assert result.exit_code == 0 and "2 annotations added" in result.output, result.output
    assert db.scalars(select(User.username).join(Annotation, Annotation.user_id == User.id)).all() == ["bob", "bob"]
    assert db.scalars(select(User.username)).all() == ["bob"]


def test_cli_users_add_says_a_passwords_bounds(runner):
    for password in ("short", "x" * 1025):
        result = runner.invoke(args=["users", "add", "pat", "--password-stdin"], input=password + "\n")
        assert result.exit_code == 1 and "a password is 8 to 1,024 characters" in result.output


def test_cli_users_list_shows_roles_state_and_tokens(runner, db):
    from sqlalchemy import select

    from annotator.models import User

    assert "No accounts yet" in runner.invoke(args=["users", "list"]).output
    for name, role in (("zoe", "admin"), ("bob", "annotator"), ("rita", "reviewer")):
        added = runner.invoke(
            args=["users", "add", name, "--role", role, "--password-stdin"], input="correct horse 1\n"
        )
        assert added.exit_code == 0, added.output
    assert runner.invoke(args=["users", "token", "bob"]).exit_code == 0
    db.scalar(select(User).where(User.username == "rita")).active = False
    db.commit()
    listed = runner.invoke(args=["users", "list"])
    assert listed.exit_code == 0, listed.output
    assert listed.output.splitlines() == ["bob (annotator): API token", "rita (reviewer): deactivated", "zoe (admin)"]
    rows = json.loads(runner.invoke(args=["users", "list", "--json"]).output)
    assert [(r["username"], r["role"], r["active"], r["api_token"], r["locked_until"]) for r in rows] == [
        ("bob", "annotator", True, True, None),
        ("rita", "reviewer", False, False, None),
        ("zoe", "admin", True, False, None),
    ]
    assert all(r["created_at"].endswith("Z") for r in rows)


def test_cli_users_token_of_a_name_that_is_not_plain_text_is_no_user(runner):
    for name in BAD_USERNAMES:
        result = runner.invoke(args=["users", "token", name])
        assert result.exit_code == 1, result.output
        assert isinstance(result.exception, SystemExit), result.exception
        assert "no user named" in result.output


def test_cli_import_as_annotator_of_a_name_that_is_not_plain_text(runner, tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps({"text": "Five drones hit Odesa.", "label": [[0, 4, "COUNT"]]}) + "\n")
    for name in BAD_USERNAMES:
        result = runner.invoke(args=["import", str(path), "--project", "p", "--as-annotator", name])
        assert result.exit_code == 1, result.output
        assert isinstance(result.exception, SystemExit), result.exception
        assert "a username cannot hold" in result.output and "Nothing was imported" in result.output
    assert "no project named" in runner.invoke(args=["status", "--project", "p"]).output


def test_cli_import_annotator_named_in_the_file_that_is_not_plain_text(runner, tmp_path):
    path = tmp_path / "p.jsonl"
    record = {"text": "Five drones hit Odesa.", "spans": [{"start": 0, "end": 4, "label": "COUNT"}]}
    path.write_text(
        json.dumps({**record, "_annotator_id": "ok"})
        + "\n"
        + json.dumps({**record, "text": "Five drones hit Kyiv.", "_annotator_id": "ali\u0007ce"})
        + "\n"
    )
    result = runner.invoke(args=["import", str(path), "--project", "p"])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert f"{path.name}, line 2" in result.output and "a username cannot hold" in result.output
    assert "no project named" in runner.invoke(args=["status", "--project", "p"]).output


def test_cli_report_files_that_are_not_regular_files_are_never_read(runner, tmp_path):
    """A device or a named pipe given as a report file would be read forever (or until memory runs out)."""
    (tmp_path / "zero.txt").symlink_to("/dev/zero")
    os.mkfifo(tmp_path / "pipe.jsonl")
    for path in (tmp_path / "zero.txt", tmp_path / "pipe.jsonl"):
        for args in (["import", str(path), "--project", "p"], ["extract", "--project", "p", str(path)]):
            result = runner.invoke(args=args)
            assert result.exit_code == 2, result.output
            assert f"'{path}' is not a regular file" in result.output
        created = runner.invoke(args=["projects", "create", "q", "--labels", str(path)])
        assert created.exit_code == 2 and "is not a regular file" in created.output
    assert "no project named" in runner.invoke(args=["status", "--project", "p"]).output

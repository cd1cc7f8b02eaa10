"""Every `lstm-zoo` command the README shows parses as written (each flag
belongs to its command) and answers `--help`."""

import os
import re
import shlex

import pytest

import lstm_zoo_cli

README = os.path.join(os.path.dirname(os.path.dirname(__file__)), "README.md")


def _readme_commands():
    text = open(README, encoding="utf-8").read()
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        block = block.replace("\\\n", " ")
        for line in block.splitlines():
            for part in line.split("&&"):
                part = part.split("#")[0].strip()
                if part.startswith("lstm-zoo "):
                    commands.append(part)
    return commands


COMMANDS = _readme_commands()


def test_the_readme_shows_every_command():
    shown = {" ".join(c.split()[1:3]) if c.split()[1] == "train" else c.split()[1]
             for c in COMMANDS}  # fmt: skip
    assert {"train adding", "train language_model", "train speech", "train captioning",
            "reproduce", "export", "verify", "score"} <= shown  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_command_parses_and_answers_help(command, capsys):
    argv = shlex.split(command)
    parsed, _, _ = lstm_zoo_cli.parse(argv)  # raises CommandLineError on a bad flag
    with pytest.raises(SystemExit) as exit_:
        lstm_zoo_cli.parse([*argv, "--help"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith(f"lstm-zoo {parsed}: ")

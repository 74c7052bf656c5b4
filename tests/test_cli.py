"""The command line: train, then ask, with clear errors and exit codes."""
from click.testing import CliRunner

from wordvec.cli import main


def test_train_then_similar_and_analogy_use_the_last_model(demo_prefix, tmp_path, monkeypatch):
    monkeypatch.setenv("WORDVEC_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("WORDVEC_MODEL", raising=False)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(main, ["train", str(demo_prefix), "--epochs", "2", "--threads", "1", "-q"])
    assert result.exit_code == 0, result.output
    assert "saved to demo_prefix.wordvec" in result.output
    assert (tmp_path / "demo_prefix.wordvec").is_file()
    result = runner.invoke(main, ["similar", "king", "-n", "3"])
    assert result.exit_code == 0, result.output
    assert len([line for line in result.output.splitlines() if not line.startswith("model:")]) == 3
    result = runner.invoke(main, ["analogy", "man", "king", "woman", "-n", "1"])
    assert result.exit_code == 0, result.output


def test_errors_are_one_line_and_non_zero(tmp_path, monkeypatch):
    monkeypatch.setenv("WORDVEC_HOME", str(tmp_path / "empty-state"))
    monkeypatch.delenv("WORDVEC_MODEL", raising=False)
    runner = CliRunner()
    missing = runner.invoke(main, ["train", str(tmp_path / "nope.txt")])
    assert missing.exit_code == 1 and "no such file" in missing.output and "Traceback" not in missing.output
    bad_flag = runner.invoke(main, ["train", "x.txt", "--window", "0"])
    assert bad_flag.exit_code == 2 and "--window" in bad_flag.output
    no_model = runner.invoke(main, ["similar", "king"])
    assert no_model.exit_code == 1 and "none trained yet" in no_model.output

"""The measuring commands run end to end on tiny inputs and print what their docs promise
(their figures are read on real sizes, by hand: docs/matching.md)."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import pytest

from benchmarks import bench, evaluate

ROOT = Path(__file__).resolve().parents[2]

CORPUS = [
    ("D1", "热解氮化硼坩埚的研制", "大尺寸晶体生长用热解氮化硼坩埚,高纯氮化硼涂层", "材料"),
    ("D2", "汽车球笼用钢", "汽车球笼用钢研发,特种钢冶炼与热处理工艺", "冶金"),
    ("D3", "杂粮深加工技术", "小米和高粱食品开发,农产品精深加工", "农业"),
    ("D4", "光电瞄准吊舱", "光电瞄准吊舱的红外成像与稳定平台,激光测距", "电子"),
    ("D5", "石英坩埚涂层", "单晶硅生长用石英坩埚的涂层工艺", "材料"),
]


def json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_evaluate_prints_the_promised_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with (tmp_path / "corpus.jsonl").open("w", encoding="utf-8") as handle:
        for key, title, text, discipline in CORPUS:
            row = {"_id": key, "title": title, "text": text, "metadata": {"discipline": discipline}}
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    queries = [("Q1", "氮化硼坩埚", "D1"), ("Q2", "红外成像吊舱", "D4"), ("Q3", "高粱", "D3")]
    with (tmp_path / "queries-title.jsonl").open("w", encoding="utf-8") as handle:
        for key, text, _ in queries:
            handle.write(json.dumps({"_id": key, "text": text}, ensure_ascii=False) + "\n")
    (tmp_path / "qrels").mkdir()
    lines = ["query-id\tcorpus-id\tscore", *(f"{q}\t{d}\t1" for q, _, d in queries)]
    (tmp_path / "qrels" / "title.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    evaluate.main([str(tmp_path)])

    (result,) = json_lines(capsys.readouterr().out)
    assert result["documents"] == len(CORPUS)
    assert isinstance(result["index_seconds"], float)
    title = result["query_sets"]["title"]  # type: ignore[index]
    assert title["queries"] == 3
    assert title["mrr@10"] == title["recall@1"] == title["recall@10"] == 1.0
    # Q1's other results: D5 (材料, shares 坩埚) may appear; every share is in [0, 1].
    assert 0.0 <= title["discipline_p@10"] <= 1.0
    assert set(title["latency_ms"]) == {"p50", "p99"}


def test_bench_prints_one_line_per_size(capsys: pytest.CaptureFixture[str]) -> None:
    bench.main(["--sizes", "300,500", "--queries", "30", "--rounds", "1"])
    lines = json_lines(capsys.readouterr().out)
    assert [line["documents"] for line in lines] == [300, 500]
    for line in lines:
        for key in ("search_ms", "search_after_200_upserts_ms", "search_filtered_ms"):
            assert set(line[key]) == {"p50", "p99"}  # type: ignore[arg-type]
        assert set(line["upsert_ms"]) == {"p50", "p99", "max"}  # type: ignore[arg-type]
        assert line["build_seconds"] >= 0  # type: ignore[operator]
        assert line["corpus_seconds"] >= 0  # type: ignore[operator]
        assert line["index_mb"] > 0  # type: ignore[operator]
        assert line["process_rss_mb"] > 0  # type: ignore[operator]
        assert 0.0 <= line["top10_agreement_with_all_terms"] <= 1.0  # type: ignore[operator]
        assert "p50" in line["bm25s"]["retrieve_ms"]  # type: ignore[index]


@pytest.mark.parametrize(
    ("script", "args", "first_key"),
    [("noise_probe.py", ["--calls", "20"], "calls")],
)
def test_scripts_run_and_print_json(
    script: str,
    args: list[str],
    first_key: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(sys, "argv", [script, *args])
    runpy.run_path(str(ROOT / "scripts" / script), run_name="__main__")
    lines = json_lines(capsys.readouterr().out)
    assert lines
    assert all(first_key in line for line in lines)


@pytest.mark.parametrize("layout", ["missing", "empty", "no_qrels"])
def test_evaluate_without_a_dataset_says_how_to_get_one_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], layout: str
) -> None:
    dataset = tmp_path / "csl"
    if layout != "missing":
        dataset.mkdir()
    if layout == "no_qrels":
        (dataset / "corpus.jsonl").write_text('{"_id": "D1", "text": "坩埚"}\n', encoding="utf-8")
        (dataset / "queries.jsonl").write_text('{"_id": "Q1", "text": "坩埚"}\n', encoding="utf-8")

    assert evaluate.main([str(dataset)]) == 2

    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1
    assert "CSL" in err
    assert "make evaluate DATA=" in err


def test_evaluate_on_a_directory_of_other_files_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "corpus.jsonl").write_text("not json\n", encoding="utf-8")
    (tmp_path / "queries.jsonl").write_text("{}\n", encoding="utf-8")
    (tmp_path / "qrels").mkdir()
    (tmp_path / "qrels" / "dev.tsv").write_text("query-id\tcorpus-id\tscore\n", encoding="utf-8")

    assert evaluate.main([str(tmp_path)]) == 2

    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert "Traceback" not in err


def test_evaluate_reads_the_beir_default_layout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with (tmp_path / "corpus.jsonl").open("w", encoding="utf-8") as handle:
        for key, title, text, _ in CORPUS:
            handle.write(json.dumps({"_id": key, "title": title, "text": text}) + "\n")
    (tmp_path / "queries.jsonl").write_text(
        json.dumps({"_id": "Q1", "text": "氮化硼坩埚"}) + "\n", encoding="utf-8"
    )
    (tmp_path / "qrels").mkdir()
    (tmp_path / "qrels" / "dev.tsv").write_text(
        "query-id\tcorpus-id\tscore\nQ1\tD1\t1\n", encoding="utf-8"
    )

    assert evaluate.main([str(tmp_path)]) == 0

    (result,) = json_lines(capsys.readouterr().out)
    assert result["query_sets"]["dev"]["mrr@10"] == 1.0  # type: ignore[index]


def test_make_evaluate_without_data_says_how_to_get_it(tmp_path: Path) -> None:
    import shutil
    import subprocess

    make = shutil.which("make")
    if make is None:
        pytest.skip("no make")
    venv = tmp_path / "venv"  # stands in for an installed .venv, so make installs nothing
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(sys.executable)
    for stamp in (".runtime", ".dev"):
        (venv / stamp).touch()
    run = subprocess.run(
        [make, "-s", "-C", str(ROOT), "evaluate", f"VENV={venv}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode != 0
    assert "DATA=" in run.stderr
    assert "CSL" in run.stderr
    assert "Traceback" not in run.stderr


def test_startup_timing_script_explains_itself(capsys: pytest.CaptureFixture[str]) -> None:
    script = str(ROOT / "scripts" / "startup_timing.py")
    argv = sys.argv
    sys.argv = [script, "--help"]
    try:
        with pytest.raises(SystemExit) as exited:
            runpy.run_path(script, run_name="__main__")
    finally:
        sys.argv = argv
    assert exited.value.code == 0
    assert "/healthz" in capsys.readouterr().out

"""Package the Spark job for spark-submit (one zip + one entry script) and submit it to a master."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: What the driver imports: the job, the lake planner, and their SQL. Executors need none of it.
PACKAGED = ("patchtrail/__init__.py", "patchtrail/errors.py", "patchtrail/publish/__init__.py",
            "patchtrail/publish/parquet_lake.py", "patchtrail/spark/*.py", "sql/spark/**/*.sql")
ENTRY = '''"""spark-submit entry point of the patchtrail history job (written by `patchtrail spark package`)."""
import sys

from patchtrail.spark.job import main

sys.exit(main())
'''


@dataclass(frozen=True)
class Package:
    """The two files spark-submit takes: `--py-files <zip>` and the entry script."""

    zip_path: Path
    entry_path: Path

    def command(self, master: str, job_args: list[str], *, spark_submit: str = "spark-submit",
                conf: dict[str, str] | None = None) -> list[str]:
        """The spark-submit command line for `job_args` (the options of patchtrail.spark.job)."""
        confs = [part for key, value in sorted((conf or {}).items()) for part in ("--conf", f"{key}={value}")]
        return [spark_submit, "--master", master, *confs, "--py-files", str(self.zip_path),
                str(self.entry_path), *job_args]


def package_job(out: Path) -> Package:
    """Write `patchtrail_spark.zip` and `patchtrail_spark_job.py` into `out` (created if needed)."""
    out.mkdir(parents=True, exist_ok=True)
    zip_path, entry = out / "patchtrail_spark.zip", out / "patchtrail_spark_job.py"
    temporary = zip_path.with_name(zip_path.name + ".tmp")
    with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
        for pattern in PACKAGED:
            root = ROOT / "patchtrail" if pattern.startswith("sql/") and (ROOT / "patchtrail" / "sql").is_dir() else ROOT
            for path in sorted(root.glob(pattern)):  # an installed wheel keeps sql/ in patchtrail/
                archive.write(path, path.relative_to(root).as_posix())
    temporary.replace(zip_path)
    entry.write_text(ENTRY)
    return Package(zip_path, entry)


def spark_submit_path() -> str:
    """spark-submit beside this Python (pip's pyspark installs it), else the one on PATH."""
    beside = Path(sys.executable).parent / "spark-submit"
    return str(beside) if beside.exists() else (shutil.which("spark-submit") or "spark-submit")


def submit(job_args: list[str], *, master: str = "local[*]", work: Path, conf: dict[str, str] | None = None,
           spark_submit: str | None = None) -> dict:
    """Package the job into `work`, run it with spark-submit on `master`, return its JSON summary.

    Raises:
        RuntimeError: spark-submit failed; the message carries the end of its output.
    """
    package = package_job(work)
    env = dict(os.environ)
    if "SPARK_HOME" not in env:  # pip's pyspark: its package folder is a Spark home
        import pyspark

        env["SPARK_HOME"] = str(Path(pyspark.__file__).parent)
    env.setdefault("PYSPARK_PYTHON", sys.executable)
    env.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    if master.startswith("local"):  # a local driver listens on loopback only
        conf = {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1",
                "spark.ui.enabled": "false", **(conf or {})}
        env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    command = package.command(master, job_args, spark_submit=spark_submit or spark_submit_path(), conf=conf)
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).splitlines()[-20:])
        raise RuntimeError(f"spark-submit exited {done.returncode}:\n{tail}")
    last = [line for line in done.stdout.splitlines() if line.startswith("{")]
    return json.loads(last[-1]) if last else {}

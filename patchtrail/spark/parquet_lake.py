"""Publish the Spark build as the Parquet lake: the layout and snapshot rules of
`patchtrail.publish.parquet_lake`, with Spark writing the files and Hadoop's FileSystem moving them.

Per dataset, one Spark job writes every partition that changed into `<root>/_spool/<snapshot>/`
(one file per partition), and the driver renames each file to its final name; then the manifest
is switched and unlisted files are swept, as for the DuckDB writer. Fingerprints are Spark's
(`xxhash64` of the row, combined with `bit_xor`): a partition whose fingerprint did not change is
not written again. Spark does not append to a partition: a changed one is rewritten (for a daily
increment, the current month's).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from patchtrail.publish.parquet_lake import (
    DATASETS,
    SPOOL_FOLDERS,
    Dataset,
    PublishResult,
    new_snapshot_id,
    publish,
)

#: The lake datasets and the view (or sql/spark/lake/<name>.sql query) each comes from.
SOURCES = {
    "instance_compliance_versions": "lake/instance_compliance_versions",
    "instance_compliance_closures": "lake/instance_compliance_closures",
    "patch_state_versions": "lake/patch_state_versions",
    "patch_state_closures": "lake/patch_state_closures",
    "patch_lists_by_item": "lake/patch_lists_by_item",
    "instance_compliance_daily": "lake/instance_compliance_daily",
    "remediation_episodes": "remediation_episodes",
    "current_missing_patches": "current_missing_patches",
    "time_to_remediate": "time_to_remediate",
    "sla_status": "sla_status",
    "sla_breaches": "sla_breaches",
}
#: Schemes of object stores: a PUT is atomic there, and a rename is a copy.
OBJECT_STORES = ("s3", "s3a", "s3n", "gs", "abfs", "abfss", "wasb", "wasbs", "oss", "cos")


def publish_lake(spark, root: str, *, extra: dict[str, Any] | None = None) -> PublishResult:
    """Publish the views of a `build` under `root` (any Hadoop URI or a local folder)."""
    from patchtrail.spark.sql import load_sql

    files = HadoopFiles(spark, root)
    snapshot_id = new_snapshot_id()
    spool = f"{SPOOL_FOLDERS[0]}/{snapshot_id}"
    writers = []
    for ds in DATASETS:
        source = SOURCES[ds.name]
        frame = spark.sql(load_sql(source)) if source.startswith("lake/") else spark.table(source)
        writers.append((ds, SparkDataset(files, ds, frame, f"{spool}/{ds.name}")))
    try:
        return publish(files, root, engine="spark", writers=writers, extra=extra, snapshot_id=snapshot_id)
    finally:
        for _, writer in writers:
            writer.release()


class SparkDataset:
    """One dataset's rows as a DataFrame, timestamps truncated to milliseconds (as written)."""

    def __init__(self, files: HadoopFiles, ds: Dataset, frame, spool: str) -> None:
        from pyspark.sql import functions as F
        from pyspark.sql.types import TimestampType

        self.files, self.ds, self.spool = files, ds, spool
        columns = [F.date_trunc("millisecond", F.col(f.name)).alias(f.name)
                   if isinstance(f.dataType, TimestampType) else F.col(f.name) for f in frame.schema.fields]
        self.frame = frame.select(*columns).persist()
        self.columns = [c for c in self.frame.columns if c != ds.partition]
        self.spooled: dict[str | None, list[str]] = {}

    def fingerprints(self) -> dict[str | None, tuple[int, str]]:
        from pyspark.sql import functions as F

        group = [F.col(self.ds.partition)] if self.ds.partition else []
        digest = F.bit_xor(F.xxhash64(*[F.col(c) for c in self.frame.columns]))
        rows = self.frame.groupBy(*group).agg(F.count(F.lit(1)).alias("n"), digest.alias("h")).collect()
        found = {(r[0] if self.ds.partition else None): (int(r["n"]), str(r["h"])) for r in rows if r["n"]}
        if self.ds.partition is None and not found:
            found[None] = (0, "0")
        return found

    def only_added(self, value: str | None, old_files: list[str]) -> bool:
        return False  # a changed partition is rewritten (see the module docstring)

    def prepare(self, rewrite: set[str | None], append: set[str | None]) -> None:
        """Write every partition in `rewrite` in one job, to the spool."""
        from pyspark.sql import functions as F

        if not rewrite:
            return
        target = self.files.uri(self.spool)
        ordered = [F.col(c) for c in self.ds.key]
        if self.ds.partition:
            rows = self.frame.where(F.col(self.ds.partition).isin(sorted(rewrite)))
            (rows.repartition(F.col(self.ds.partition)).sortWithinPartitions(*ordered)
             .write.mode("overwrite").partitionBy(self.ds.partition).parquet(target))
        else:
            self.frame.coalesce(1).sortWithinPartitions(*ordered).write.mode("overwrite").parquet(target)
        for path in self.files.list_files(self.spool):
            name = path.rsplit("/", 1)[-1]
            if not (name.startswith("part-") and name.endswith(".parquet")):
                continue
            folder = path.rsplit("/", 2)[-2]
            value = folder.split("=", 1)[1] if self.ds.partition and "=" in folder else None
            self.spooled.setdefault(value, []).append(path)

    def write(self, value: str | None, names: Callable[[int], str], *, added_to: list[str] | None) -> list[str]:
        written = []
        for path in sorted(self.spooled.get(value, [])):
            name = names(len(written))
            self.files.rename(path, name)
            written.append(name)
        if not written:  # an empty partition wrote no file: cannot happen for a listed partition
            raise RuntimeError(f"Spark wrote no file for {self.ds.name} {value}")
        return written

    def release(self) -> None:
        self.frame.unpersist()


class HadoopFiles:
    """`LakeFiles` over Hadoop's FileSystem (local, HDFS, S3A, EMRFS, ABFS, GCS). The manifest is
    written to a temporary name and renamed over the old one, except on object stores, where one
    PUT is atomic and a rename is a copy."""

    def __init__(self, spark, root: str) -> None:
        jvm = spark._jvm
        self.jvm = jvm
        if "://" not in root and not root.startswith("file:"):
            root = "file://" + jvm.java.io.File(root).getAbsolutePath()
        self.root = root.rstrip("/")
        self.conf = spark._jsc.hadoopConfiguration()
        path = jvm.org.apache.hadoop.fs.Path(self.root)
        fs = path.getFileSystem(self.conf)
        scheme = fs.getUri().getScheme()
        if scheme == "file" and fs.getClass().getSimpleName() == "LocalFileSystem":
            fs = fs.getRawFileSystem()  # no .crc files beside the lake's
        self.fs = fs
        self.object_store = scheme in OBJECT_STORES

    def uri(self, relative: str) -> str:
        return f"{self.root}/{relative}"

    def _path(self, relative: str):
        return self.jvm.org.apache.hadoop.fs.Path(self.uri(relative))

    def read_text(self, path: str) -> str | None:
        target = self._path(path)
        if not self.fs.exists(target):
            return None
        stream = self.fs.open(target)
        try:
            return self.jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8")
        finally:
            stream.close()

    def write_text_atomic(self, path: str, text: str) -> None:
        target = self._path(path)
        if self.object_store:
            self._put(target, text.encode())
            return
        temporary = self._path(f"{path}.tmp-{new_snapshot_id()}")
        self._put(temporary, text.encode())
        if not self.fs.rename(temporary, target):  # HDFS does not rename over a file
            context = self.jvm.org.apache.hadoop.fs.FileContext.getFileContext(self.fs.getUri(), self.conf)
            options = self.jvm.org.apache.hadoop.fs.Options.Rename
            overwrite = spark_array(self.jvm, options, [options.OVERWRITE])
            context.rename(temporary, target, overwrite)

    def list_files(self, folder: str) -> list[str]:
        target = self._path(folder)
        if not self.fs.exists(target):
            return []
        found = []
        listing = self.fs.listFiles(target, True)
        prefix = self.fs.makeQualified(self.jvm.org.apache.hadoop.fs.Path(self.root)).toString().rstrip("/") + "/"
        while listing.hasNext():
            found.append(listing.next().getPath().toString().removeprefix(prefix))
        return found

    def delete(self, path: str) -> None:
        target = self._path(path)
        self.fs.delete(target, False)
        parent = target.getParent()
        root = self.fs.makeQualified(self.jvm.org.apache.hadoop.fs.Path(self.root))
        while parent is not None and not self.object_store and parent.toString() != root.toString() \
                and parent.toString().startswith(root.toString()):
            statuses = self.fs.listStatus(parent)
            if len(statuses):
                break
            self.fs.delete(parent, False)
            parent = parent.getParent()

    def rename(self, source: str, target: str) -> None:
        destination = self._path(target)
        self.fs.mkdirs(destination.getParent())
        if not self.fs.rename(self._path(source), destination):
            raise OSError(f"could not move {source} to {target}")

    def _put(self, target, data: bytes) -> None:
        out = self.fs.create(target, True)
        try:
            out.write(bytearray(data))
            if not self.object_store:
                out.hsync()  # on disk before the rename makes it the manifest
        finally:
            out.close()


def spark_array(jvm, cls, values: list) -> Any:
    """A Java array of `cls` holding `values` (for varargs calls through py4j)."""
    from pyspark import SparkContext

    array = SparkContext._gateway.new_array(cls, len(values))
    for i, value in enumerate(values):
        array[i] = value
    return array

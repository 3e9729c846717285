"""The history build as an Apache Spark job: the same items in, the same lake out, at organisation scale.

    patchtrail spark build --items export/ --out s3://analytics/patchtrail     # in-process, local[*]
    spark-submit --py-files patchtrail_spark.zip job.py --items ... --out ...  # any cluster

Only the driver runs Python, and only to wire SQL steps together and move files (sql/spark/*.sql):
no Python runs per row, so executors need nothing but Spark. Nothing here imports DuckDB or pandas.
"""

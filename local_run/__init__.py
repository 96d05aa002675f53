"""Run the pipeline on one machine: moto server as AWS, local Spark as Glue, `dag.test()` as MWAA."""

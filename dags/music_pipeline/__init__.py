"""Task logic of the music_streaming_pipeline_dynamo DAG, uploaded to MWAA beside the DAG file.

`contract` is dependency-free and also shipped to the Glue job.
"""

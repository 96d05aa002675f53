"""Triggers the DAG defers to, shipped to MWAA as ``plugins.zip``.

MWAA unpacks ``plugins.zip`` into ``$AIRFLOW_HOME/plugins``, which Airflow puts on ``sys.path`` of every
component, the triggerer included; ``dags/`` is not on the triggerer's path. The DAG package imports
its triggers from here, so the class the worker defers to is the class the triggerer runs.
"""

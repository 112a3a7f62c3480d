"""Data-subject requests on SQL: the request records, the export and erasure jobs, and the archive
writer.
"""

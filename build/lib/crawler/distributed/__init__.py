"""Worker mode (``--redis``): the add-on, seeding and rounds, the worker lease, heartbeats.
"""

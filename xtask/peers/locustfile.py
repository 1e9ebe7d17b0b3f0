"""Locust as `cargo xtask peers` runs it: every user GETs one path again and again with no wait
time, on Locust's fast HTTP client (geventhttpclient, keep-alive connections).

The path comes from the environment variable LOCUST_PEER_PATH (default "/"); the host, users,
spawn rate and run time from Locust's own flags.
"""

import os

from locust import FastHttpUser, constant, task

PATH = os.environ.get("LOCUST_PEER_PATH", "/")


class PeerUser(FastHttpUser):
    """One keep-alive connection, one GET after another.

    Locust counts a response with a status of 400 or more (or none) as a failure.
    """

    wait_time = constant(0)

    @task
    def get_path(self):
        self.client.get(PATH)
